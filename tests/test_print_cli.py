"""`run --print-cli` prints clean bash with its own namespaces; `validate` warns of unused input."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from hybridops.engine.loader import builtin_runbooks, load
from tests.printed_scripts import run_script, shellcheck
from tests.support import Cli, MotoServer

NEEDED = {
    "scale-service": ["-p", "to=4"],
    "scale-lambda": ["-p", "to=4"],
    "circuit-breaker": ["-p", "state=open"],
}


def _bash_n(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)


@pytest.mark.parametrize("name", sorted(builtin_runbooks()))
def test_every_builtin_script_is_clean_bash(
    cli: Cli, moto: MotoServer, write_config: Any, name: str
) -> None:
    """No placeholder bytes, `bash -n` and shellcheck (warnings) pass, nothing is asked."""
    write_config(
        moto.url,
        health_url="http://127.0.0.1:9",
        hosted_zone_id="Z1",
        record_name="api.example.com",
        target_group_arn="arn:aws:tg",
    )
    result = cli("run", name, "--print-cli", *NEEDED.get(name, []))
    assert result.code == 0, result.err
    script = result.out
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "\x00" not in script
    assert _bash_n(script).returncode == 0, _bash_n(script).stderr
    checked = shellcheck(script)
    assert checked.returncode == 0, checked.stdout
    assert "ask_value" not in script and "ask 'Does" not in script
    assert moto.requests == []  # printing runs nothing


@pytest.mark.parametrize("name", sorted(builtin_runbooks()))
def test_every_docs_script_is_clean_bash(name: str) -> None:
    """The scripts of the generated runbook pages (built-in defaults) are clean too."""
    from hybridops.reference.runbook_pages import DOCS_ENV, _docs_scope
    from hybridops.shell.script import runbook_script

    script = runbook_script(load(name).runbook, DOCS_ENV, _docs_scope(), None)
    assert "\x00" not in script
    assert _bash_n(script).returncode == 0
    checked = shellcheck(script)
    assert checked.returncode == 0, checked.stdout


def test_the_committed_docs_pages_carry_no_placeholder_bytes() -> None:
    """restart-service.md and scale-lambda.md once held NUL bytes in their scripts."""
    pages = sorted((Path(__file__).parent.parent / "docs" / "runbooks").glob("*.md"))
    assert len(pages) > len(builtin_runbooks())
    for page in pages:
        assert b"\x00" not in page.read_bytes(), page.name


def test_a_parameter_the_yaml_hard_coded_is_honoured(
    cli: Cli, moto: MotoServer, write_config: Any
) -> None:
    """restart-service's timeout_s bounds its wait (the YAML once said 600 whatever was given)."""
    write_config(moto.url, health_url="http://127.0.0.1:9")
    script = cli("run", "restart-service", "--print-cli", "-p", "timeout_s=45").out
    assert "\nP_TIMEOUT_S='45'" in script
    assert '$((SECONDS + $(secs "${P_TIMEOUT_S}")))' in script
    assert "600" not in script.split("# --- 3/4 settle", 1)[1].split("# --- 4/4", 1)[0]


WAIT_BOOK = """name: bounded
parameters:
  limit: {type: number, default: 1}
steps:
  - name: never
    wait:
      http: {url: "${{ env.health_url }}/ready"}
      until: {json.ready: true}
      interval_s: 0.2
      timeout_s: "${{ params.limit }}"
"""


def test_a_wait_bounded_by_a_parameter_times_out_in_hybridops_and_in_the_script(
    cli: Cli,
    moto: MotoServer,
    write_config: Any,
    write_runbook: Any,
    http_server: Any,
    tmp_path: Path,
) -> None:
    """`timeout_s: "${{ params.limit }}"`: both give up after `limit` seconds (exit 5)."""
    server = http_server(lambda m, p, b: (200, {"ready": False}))
    write_config(moto.url, health_url=server.url)
    book = write_runbook(WAIT_BOOK)
    ours = cli("-o", "json", "run", str(book), "-p", "limit=0.5")
    assert ours.code == 5, ours.err
    script = cli("run", str(book), "--print-cli", "-p", "limit=0.5").out
    ran = run_script(script, tmp_path, timeout=30)
    assert ran.returncode == 5, ran.stderr
    assert "step never: not done after 0.5s" in ran.stderr
    bad = write_runbook(WAIT_BOOK.replace('"${{ params.limit }}"', "soon"), "bad.yaml")
    refused = cli("runbooks", "validate", str(bad))
    assert refused.code == 2 and "timeout_s" in refused.err


NAMES_BOOK = """name: names
parameters:
  path: {type: string, default: /srv/data}
  Path: {type: string, default: other}
steps:
  - name: a-b
    http: {url: "${{ env.health_url }}/one"}
    outputs: {v: json.value}
  - name: a_b
    http: {url: "${{ env.health_url }}/two"}
    outputs: {v: json.value}
  - name: 1st
    http: {url: "${{ env.health_url }}/three?path=${{ params.path }}"}
    outputs: {v: json.value}
  - name: nap
    description: sleep is found through PATH, which no parameter may replace
    sleep: 0
  - name: check
    assert:
      that:
        "steps.\\"a-b\\".outputs.v": one
        "steps.a_b.outputs.v": two
        "steps.\\"1st\\".outputs.v": three
        "params.path": /srv/data
        "params.Path": other
"""


def test_variables_never_collide(
    cli: Cli,
    moto: MotoServer,
    write_config: Any,
    write_runbook: Any,
    http_server: Any,
    tmp_path: Path,
) -> None:
    """P_ and S_<step>_ names, unique: `path` is not PATH, `a-b` not `a_b`, `1st` is fine."""
    values = {"/one": "one", "/two": "two"}
    server = http_server(lambda m, p, b: (200, {"value": values.get(p, "three")}))
    write_config(moto.url, health_url=server.url)
    book = write_runbook(NAMES_BOOK)
    printed = cli("run", str(book), "--print-cli")
    assert printed.code == 0, printed.err
    script = printed.out
    for assigned in ("P_PATH=", "P_PATH_2=", "S_A_B_V=", "S_A_B_V_2=", "S_1ST_V="):
        assert f"\n{assigned}" in script or f" {assigned}" in script, assigned
    assert "\nPATH=" not in script and " PATH=" not in script
    assert shellcheck(script).returncode == 0, shellcheck(script).stdout
    ran = run_script(script, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ("GET", "/three?path=/srv/data", b"") in server.requests
    # The parameter really is the parameter: another value fails the check on it.
    other = cli("run", str(book), "--print-cli", "-p", "path=/elsewhere").out
    ran = run_script(other, tmp_path)
    assert ran.returncode == 1
    assert "params.path should be /srv/data (got /elsewhere)" in ran.stderr


@pytest.mark.slow
def test_a_failed_check_stops_the_script_with_hybridops_exit_codes(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    """An unhealthy verdict stops it with 1, after the change hybridops would have made."""
    unhealthy = http_server(lambda m, p, b: (200, {"status": "unhealthy"}))
    moto.client("ssm").put_parameter(
        Name="/hybrid-routing/circuit-breaker/bedrock", Value="closed", Type="String"
    )
    write_config(moto.url, unhealthy.url, components=["router"])
    printed = cli("run", "circuit-breaker", "--print-cli", "-p", "state=open")
    ran = run_script(printed.out, tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert "check failed: status is healthy or degraded (got unhealthy)" in ran.stderr
    assert ran.stderr.count("3/3 verify-health") == 3  # tried as often as hybridops tries
    value = moto.client("ssm").get_parameter(Name="/hybrid-routing/circuit-breaker/bedrock")
    assert value["Parameter"]["Value"] == "open"


def test_secret_parameters_stay_variables(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    """A secret is never printed: the script demands it from the environment."""
    write_config(moto.url, health_url="http://127.0.0.1:9")
    book = write_runbook(
        """name: hook
parameters:
  token: {type: string, secret: true}
steps:
  - name: call
    http:
      method: POST
      url: "${{ env.health_url }}/hook"
      headers: {authorization: "Bearer ${{ params.token }}"}
"""
    )
    result = cli("-o", "json", "run", str(book), "--print-cli", "-p", "token=s3cr3t-value-123")
    assert result.code == 0, result.err
    script = result.json()["script"]
    assert "s3cr3t-value-123" not in result.out + result.err
    assert 'P_TOKEN="${P_TOKEN:?export P_TOKEN first: a secret, never printed}"' in script
    assert '-H "authorization: Bearer ${P_TOKEN}"' in script


# -- runbooks validate: warnings, --strict -------------------------------------------------

UNUSED_BOOK = """name: unused
parameters:
  shown: {type: string, default: x}
  gate: {type: boolean, default: false}
  spare: {type: integer, default: 3}
steps:
  - name: nap
    when: params.gate
    sleep: 0
report:
  - title: "Shown: ${{ params.shown }}"
    fields: {gate: params.gate}
"""


def test_a_parameter_nothing_reads_is_a_warning(cli: Cli, write_runbook: Any) -> None:
    """Used in a condition or only in the report counts; never used warns (--strict: exit 2)."""
    book = write_runbook(UNUSED_BOOK)
    result = cli("runbooks", "validate", str(book))
    assert result.code == 0, result.err
    assert f"warning: {book}:5: parameters.spare: never used" in result.err
    assert "shown" not in result.err.replace("parameters.spare", "")
    assert "gate" not in result.err
    strict = cli("runbooks", "validate", "--strict", str(book))
    assert strict.code == 2
    assert f"error: {book}:5: parameters.spare: never used" in strict.err
    as_json = cli("-o", "json", "runbooks", "validate", "--strict", str(book)).json()
    assert as_json["valid"] is False
    assert as_json["results"][0]["warnings"] == [
        f"{book}:5: parameters.spare: never used (no step, condition or report reads it)"
    ]


def test_every_builtin_passes_strict_validation(cli: Cli) -> None:
    """No unused parameter, and no step the printed script would have to ask about."""
    result = cli("runbooks", "validate", "--strict")
    assert result.code == 0, result.err
    assert "warning:" not in result.err and "error:" not in result.err


def test_a_custom_action_without_a_shell_equivalent_is_asked_for_and_reported(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any, monkeypatch: Any
) -> None:
    """The one place the script asks the operator for a value; --strict names the step."""
    from pydantic import BaseModel

    from hybridops.steps.registry import ACTIONS, ActionDefinition

    class Inputs(BaseModel):
        """No inputs."""

    monkeypatch.setitem(
        ACTIONS,
        "custom.pick",
        ActionDefinition("custom.pick", lambda i, c: {"pick": 1}, Inputs, False, "Pick one."),
    )
    write_config(moto.url, health_url="http://127.0.0.1:9")
    book = write_runbook(
        "name: custom\nsteps:\n  - name: choose\n    action: {name: custom.pick}\n"
        "    outputs: {choice: pick}\n"
    )
    script = cli("run", str(book), "--print-cli").out
    assert "ask_value S_CHOOSE_CHOICE 'pick, as hybridops custom.pick would compute it'" in script
    strict = cli("runbooks", "validate", "--strict", str(book))
    assert strict.code == 2
    assert "step 'choose': `run --print-cli` asks the operator instead" in strict.err
    assert "action custom.pick has no shell equivalent" in strict.err


def test_to_and_by_together_are_bad_input_in_the_script_too(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    """Exactly one of to and by: both given is exit 2 before anything is read or changed."""
    write_config(moto.url, health_url="http://127.0.0.1:9")
    ours = cli("--yes", "run", "scale-lambda", "-p", "to=4", "-p", "by=2")
    assert ours.code == 2, ours.err
    script = cli("run", "scale-lambda", "--print-cli", "-p", "to=4", "-p", "by=2").out
    moto.forget_requests()
    ran = run_script(script, tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert "give exactly one of --to N or --by K" in ran.stderr
    assert moto.requests == []
