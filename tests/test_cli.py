"""The command line: help everywhere, version, output modes, exit codes, option placement."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from hybridops import __version__
from hybridops.cli.main import build_app, hoist_global_options
from hybridops.errors import (
    BadInput,
    CheckFailed,
    ExitCode,
    Refused,
    RemoteError,
    TimedOut,
    exit_code_for,
)
from tests.support import Cli


def _walk(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(build_app())
    seen = 0
    for path, command in _walk(root):
        assert (command.help or "").strip(), f"no help for {' '.join(path) or 'hybridops'}"
        for param in command.params:
            kind = getattr(param, "param_type_name", "")
            if kind in ("option", "argument") and not param.hidden:
                assert param.help, f"{kind} {param.name} of {' '.join(path)} has no help"
        seen += 1
    assert seen > 10


@pytest.mark.parametrize(
    "group",
    [
        "health",
        "logs",
        "scale",
        "failover",
        "rollback",
        "incident",
        "run",
        "runbooks",
        "sandbox",
        "audit",
    ],
)
def test_command_groups_are_registered(cli: Cli, group: str) -> None:
    result = cli(group, "--help")
    assert result.code == 0
    assert "Usage:" in result.out


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"hybridops {__version__}"


def test_python_dash_m_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hybridops", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"hybridops {__version__}"


def test_usage_error_is_exit_2(cli: Cli) -> None:
    result = cli("run")
    assert result.code == 2
    assert "Missing argument" in result.err
    assert cli("--output", "yaml", "runbooks", "list").code == 2
    assert cli("no-such-command").code == 2


def test_failover_without_a_direction_is_bad_usage(cli: Cli) -> None:
    result = cli("failover")
    assert result.code == 2
    assert "give --to secondary or --to primary" in result.err


def test_json_errors_are_one_document_on_stdout(cli: Cli) -> None:
    result = cli("-o", "json", "run", "no-such-runbook")
    assert result.code == 2
    doc = json.loads(result.out)
    assert doc["status"] == "error"
    assert doc["error"]["exit_code"] == 2
    assert "unknown runbook 'no-such-runbook'" in doc["error"]["message"]
    assert "error: unknown runbook" in result.err


def test_no_traceback_unless_asked(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook("name: x\nsteps:\n  - name: a\n    sleep: 0\n")
    path.write_text("name: [\n")
    result = cli("run", str(path))
    assert "Traceback" not in result.err
    result = cli("--traceback", "run", str(path))
    assert "Traceback" in result.err
    assert result.code == 2


def test_global_options_after_the_subcommand(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook("name: x\nsteps:\n  - name: a\n    sleep: 0\n")
    result = cli("run", str(path), "--output", "json", "-q")
    assert result.code == 0
    assert json.loads(result.out)["status"] == "succeeded"
    assert result.err == ""


def test_hoisting_respects_the_commands_own_options() -> None:
    root = typer.main.get_command(build_app())
    argv = ["run", "book.yaml", "--param", "x=--output", "-o", "json", "--yes"]
    assert hoist_global_options(root, argv) == [
        "-o",
        "json",
        "--yes",
        "run",
        "book.yaml",
        "--param",
        "x=--output",
    ]
    argv = ["--env", "prod", "run", "b", "--param", "--dry-run"]
    assert hoist_global_options(root, argv) == ["--env", "prod", "run", "b", "--param", "--dry-run"]
    assert hoist_global_options(root, ["run", "b", "--", "--yes"]) == ["run", "b", "--", "--yes"]


def test_quiet_and_text_output(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook("name: x\nsteps:\n  - name: a\n    sleep: 0\n")
    result = cli("--quiet", "run", str(path))
    assert result.err == ""
    assert "succeeded" in result.out
    result = cli("run", str(path))
    assert "1/1 a: sleep 0s" in result.err
    assert "\x1b[" not in result.out + result.err  # no colour without a terminal


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CheckFailed("x"), ExitCode.FAILED),
        (BadInput("x"), ExitCode.BAD_INPUT),
        (Refused("x"), ExitCode.REFUSED),
        (RemoteError("x"), ExitCode.REMOTE_ERROR),
        (TimedOut("x"), ExitCode.TIMED_OUT),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (TimeoutError(), ExitCode.TIMED_OUT),
        (ValueError("bug"), ExitCode.FAILED),
    ],
)
def test_exit_code_ladder(error: BaseException, code: ExitCode) -> None:
    assert exit_code_for(error) == code


def test_botocore_errors_map_to_4() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    assert exit_code_for(EndpointConnectionError(endpoint_url="http://x")) == 4
    assert exit_code_for(ClientError({"Error": {"Code": "Throttling"}}, "DescribeServices")) == 4


def test_runbooks_list_and_show(cli: Cli) -> None:
    doc = cli("-o", "json", "runbooks", "list").json()
    names = {r["name"]: r for r in doc["runbooks"]}
    assert names["service-status"]["mutating"] is False
    assert names["restart-service"]["mutating"] is True
    show = cli("-o", "json", "runbooks", "show", "restart-service").json()
    assert [s["name"] for s in show["steps"]] == ["describe", "redeploy", "settle", "verify"]
    assert [s["mutating"] for s in show["steps"]] == [False, True, False, False]
    text = cli("runbooks", "show", "restart-service").out
    assert "redeploy (changes)" in text


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from hybridops.cli.main import main; "
        "rc = main(['--help']); "
        "heavy = [m for m in ('boto3', 'botocore', 'httpx', 'moto', 'pydantic.main', 'yaml', 'rich.table') if m in sys.modules]; "
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="
