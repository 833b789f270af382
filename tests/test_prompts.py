"""Prompts a person can judge in two seconds: where, what in words, a small table, typed danger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import Cli, MotoServer
from tests.test_faults import _read_until

CREATE = """name: make
steps:
  - name: create
    aws: {service: ecs, operation: create_cluster, params: {clusterName: made}}
"""

TO_ZERO = """name: drain
steps:
  - name: drain
    aws:
      service: ecs
      operation: update_service
      params: {cluster: c1, service: s1, desiredCount: 0}
"""

CONFIRMED = """name: confirmed
parameters:
  diff: {type: object}
  to: {type: integer}
steps:
  - name: ask
    confirm:
      message: "Roll web back to revision 2 (last known-good)."
      table: "${{ params.diff }}"
      typed: "${{ run.env }}"
      typed_when: "params.to == `0`"
      danger: "nothing will serve eu-central-1"
  - name: create
    aws: {service: ecs, operation: create_cluster, params: {clusterName: made}}
"""

DIFF = json.dumps({"web": {"image": {"from": "router:3", "to": "router:2"}}})


@pytest.fixture
def ecs_service(moto: MotoServer, write_config: Any) -> Any:
    """Cluster c1 with service s1 running 2 tasks' worth of desired count."""
    write_config(moto.url)
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="c1")
    arn = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "router:2", "memory": 64}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="c1", serviceName="s1", taskDefinition=arn, desiredCount=2)
    moto.forget_requests()
    return ecs


def _desired(ecs: Any) -> int:
    return int(ecs.describe_services(cluster="c1", services=["s1"])["services"][0]["desiredCount"])


def test_a_call_prompt_names_where_and_what_in_words(
    moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    write_config(moto.url)
    cli = Cli(tty=True, answers=["y"])
    result = cli("run", str(write_runbook(CREATE)))
    assert result.code == 0, result.err
    (prompt,) = cli.prompts
    assert prompt == (
        "In test (123456789012, eu-central-1):\n"
        "step 'create' will call ecs.create_cluster\n"
        "    clusterName  made\n"
        "Proceed? [y/N] "
    )


def test_removing_all_capacity_is_typed_even_with_yes(ecs_service: Any, write_runbook: Any) -> None:
    book = write_runbook(TO_ZERO)
    refused = Cli()("--yes", "run", str(book))
    assert refused.code == 3
    assert "will run no task: nothing will serve" in refused.err
    assert "type 'test' when asked" in refused.err
    assert _desired(ecs_service) == 2
    wrong = Cli(tty=True, answers=["y"])
    assert wrong("--yes", "run", str(book)).code == 3
    assert "DANGER: service s1 will run no task: nothing will serve" in wrong.prompts[0]
    assert wrong.prompts[0].endswith("Type 'test' to continue: ")
    assert _desired(ecs_service) == 2
    right = Cli(tty=True, answers=["test"])
    assert right("--yes", "run", str(book)).code == 0
    assert _desired(ecs_service) == 0


def test_a_confirm_step_shows_its_table_once_and_types_only_when_dangerous(
    moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    write_config(moto.url)
    book = str(write_runbook(CONFIRMED))
    plain = Cli(tty=True, answers=["y"])
    assert plain("run", book, "-p", f"diff={DIFF}", "-p", "to=2").code == 0
    (prompt,) = plain.prompts
    assert prompt == (
        "In test (123456789012, eu-central-1):\n"
        "Roll web back to revision 2 (last known-good).\n"
        "  what       from      to\n"
        "  web image  router:3  router:2\n"
        "Proceed? [y/N] "
    )
    typed = Cli(tty=True, answers=["test"])
    assert typed("run", book, "-p", f"diff={DIFF}", "-p", "to=0").code == 0
    assert (
        "DANGER: nothing will serve eu-central-1\nType 'test' to continue: " in (typed.prompts[0])
    )


def test_yes_and_dry_run_show_the_message_once_as_a_note(
    moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    write_config(moto.url)
    book = str(write_runbook(CONFIRMED))
    for flags, prefix in ((["--yes"], "confirmed by --yes:"), (["--dry-run"], "would ask:")):
        result = Cli()(*flags, "run", book, "-p", f"diff={DIFF}", "-p", "to=2")
        assert result.code == 0, result.err
        assert result.err.count("Roll web back to revision 2") == 1
        assert f"    {prefix}\n    In test (123456789012, eu-central-1):" in result.err
        assert "      web image  router:3  router:2" in result.err
        assert "{'" not in result.err  # no Python repr


def test_the_typed_prompt_on_a_real_terminal(
    moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    import pty

    write_config(moto.url)
    book = str(write_runbook(CONFIRMED))
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "run", book, "-p", f"diff={DIFF}", "-p", "to=0"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "100"},
    )
    os.close(slave)
    seen: list[str] = []
    try:
        _read_until(master, "Type 'test' to continue: ", seen)
        os.write(master, b"test\n")
        _read_until(master, "succeeded", seen)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        os.close(master)
    screen = "".join(seen)
    assert proc.returncode == 0, screen
    assert "In test (123456789012, eu-central-1):" in screen
    assert "web image  router:3  router:2" in screen
    assert "DANGER: nothing will serve eu-central-1" in screen
    assert moto.client("ecs").describe_clusters(clusters=["made"])["clusters"]


def test_typed_when_needs_typed(cli: Cli, write_runbook: Any) -> None:
    book = write_runbook(
        "name: x\nsteps:\n  - name: a\n    confirm: {message: m, typed_when: 'params.x'}\n"
    )
    result = cli("runbooks", "validate", str(book))
    assert result.code == 2
    assert "typed_when and danger need `typed`" in result.err


def test_a_declined_typed_prompt_sends_nothing(
    ecs_service: Any, moto: MotoServer, write_runbook: Any, tmp_path: Path
) -> None:
    cli = Cli(tty=True, answers=["prod"])
    assert cli("run", str(write_runbook(TO_ZERO))).code == 3
    assert "UpdateService" not in moto.requests


def test_scaling_the_service_to_zero_needs_the_environment_typed(sandbox_env: Any) -> None:
    ecs = sandbox_env.internal_client("ecs")

    def desired() -> int:
        services = ecs.describe_services(
            cluster="hybrid-routing-cluster", services=["hybrid-router-service"]
        )["services"]
        return int(services[0]["desiredCount"])

    before = desired()
    refused = Cli()("--yes", "scale", "service", "--to", "0")
    assert refused.code == 3
    assert "confirmed by typing 'sandbox' on a terminal" in refused.err
    assert desired() == before
    cli = Cli(tty=True, answers=["sandbox"])
    result = cli("scale", "service", "--to", "0", "--timeout", "60")
    assert result.code == 0, result.err
    (prompt,) = cli.prompts
    assert prompt.startswith("In sandbox (123456789012, eu-central-1):\n")
    assert (
        f"Scale hybrid-router-service (hybrid-routing-cluster) from {before} to 0 tasks.\n"
        in prompt
    )
    assert "DANGER: no task will run" in prompt
    assert prompt.endswith("Type 'sandbox' to continue: ")
    assert desired() == 0
    # Scaling up is a plain yes/no, asked once for the whole change.
    up = Cli(tty=True, answers=["y"])
    assert up("scale", "service", "--to", str(before), "--timeout", "60").code == 0
    assert len(up.prompts) == 1 and up.prompts[0].endswith("Proceed? [y/N] ")


def test_a_rollback_prompt_shows_its_diff_as_a_table_once(sandbox_env: Any) -> None:
    sandbox_env.break_("bad-deploy")
    cli = Cli(tty=True, answers=["y"])
    result = cli("rollback", "--timeout", "60s")
    assert result.code == 0, result.err
    (prompt,) = cli.prompts
    assert "  what" in prompt and "from" in prompt and " to" in prompt
    assert "{" not in prompt  # a table, not JSON
    assert result.err.count("Roll hybrid-router-service back") == 0  # shown in the prompt only
