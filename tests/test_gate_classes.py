"""The gate classifies by the operation alone: no runbook can lower a call's class."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from hybridops.gate import Gate, GateMode
from hybridops.gate.classify import READ_ONLY_ALLOW_LIST, aws_mutates, http_mutates
from hybridops.gate.core import Call
from hybridops.steps.registry import ACTIONS, action
from tests.support import Cli, MotoServer

LOWERED_SSM = """name: sneaky
steps:
  - name: read
    aws: {service: ssm, operation: get_parameter, params: {Name: /flag}}
  - name: write
    mutating: false
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /flag, Value: changed, Type: String, Overwrite: true}}
"""

LOWERED_POST = """name: sneaky-http
steps:
  - name: hook
    mutating: false
    http: {method: POST, url: "URL/hook", json: {x: 1}}
"""

LOWERED_ACTION = """name: sneaky-action
steps:
  - name: change
    mutating: false
    action: {name: test.changes}
"""


class _Nothing(BaseModel):
    """No inputs."""


@pytest.mark.parametrize("flags", [(), ("--dry-run",), ("--read-only",), ("--yes",)])
def test_mutating_false_on_a_write_is_a_validation_error(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any, flags: tuple[str, ...]
) -> None:
    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/flag", Value="original", Type="String")
    moto.forget_requests()
    path = write_runbook(LOWERED_SSM)
    result = cli(*flags, "run", str(path))
    assert result.code == 2
    # file:line of the `mutating:` key, and why.
    assert f"{path}:6: steps[1].mutating: cannot lower" in result.err
    assert "ssm.put_parameter writes" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert moto.requests == []
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "original"


def test_mutating_false_on_a_post_is_a_validation_error(
    cli: Cli, http_server: Any, write_config: Any, write_runbook: Any
) -> None:
    hook = http_server(lambda m, p, b: (200, {}))
    write_config()
    path = write_runbook(LOWERED_POST.replace("URL", hook.url))
    for flags in ((), ("--read-only",), ("--dry-run",)):
        result = cli(*flags, "-o", "json", "run", str(path))
        assert result.code == 2, result.err
        assert result.json()["error"]["type"] == "ValidationError"
        assert "HTTP POST is not a safe method" in result.json()["error"]["message"]
    assert hook.requests == []


def test_mutating_false_on_a_changing_action_is_a_validation_error(
    cli: Cli, write_runbook: Any
) -> None:
    @action("test.changes", inputs=_Nothing, mutating=True)
    def changes(inputs: _Nothing, ctx: Any) -> dict[str, Any]:
        """Declares that it changes things."""
        return {}

    try:
        path = write_runbook(LOWERED_ACTION)
        result = cli("runbooks", "validate", str(path))
    finally:
        ACTIONS.pop("test.changes", None)
    assert result.code == 2
    assert "action 'test.changes' makes changes" in result.err


def test_mutating_false_on_a_read_is_allowed(cli: Cli, write_runbook: Any) -> None:
    path = write_runbook(
        "name: fine\nsteps:\n  - name: r\n    mutating: false\n"
        "    aws: {service: ssm, operation: get_parameter, params: {Name: /x}}\n"
    )
    assert cli("runbooks", "validate", str(path)).code == 0


@pytest.fixture
def lying_action() -> Any:
    """A custom action registered as not mutating whose body writes an SSM parameter."""

    @action("test.lying", inputs=_Nothing, mutating=False)
    def lying(inputs: _Nothing, ctx: Any) -> dict[str, Any]:
        """Says it reads; writes."""
        ssm = ctx.clients.client("ssm")
        ssm.put_parameter(Name="/flag", Value="changed", Type="String", Overwrite=True)
        return {}

    yield
    ACTIONS.pop("test.lying", None)


@pytest.mark.parametrize(("flag", "code"), [("--read-only", 3), ("--dry-run", 0)])
def test_an_action_that_lies_about_its_class_is_still_gated(
    cli: Cli,
    moto: MotoServer,
    write_config: Any,
    write_runbook: Any,
    lying_action: Any,
    flag: str,
    code: int,
) -> None:
    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/flag", Value="original", Type="String")
    moto.forget_requests()
    path = write_runbook("name: lie\nsteps:\n  - name: l\n    action: {name: test.lying}\n")
    result = cli(flag, "-o", "json", "run", str(path))
    assert result.code == code, result.err
    assert "PutParameter" not in moto.requests
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "original"
    if flag == "--dry-run":
        planned = [c for c in result.json()["calls"] if not c["sent"]]
        assert [(c["service"], c["operation"]) for c in planned] == [("ssm", "put_parameter")]


def test_a_scope_cannot_lower_a_call_even_from_python() -> None:
    gate = Gate(GateMode(read_only=True))
    with gate.scope("s", mutating_override=False):
        assert gate.classify("ssm", "put_parameter") is True
        assert gate.classify_http("DELETE") is True
        with pytest.raises(Exception, match="read-only"):
            gate.check(Call("ssm", "put_parameter", {}, gate.classify("ssm", "put_parameter")))
    with gate.scope("s", mutating_override=True):
        assert gate.classify("ecs", "list_clusters") is True
        assert gate.classify_http("GET") is True


@pytest.mark.parametrize(
    ("service", "operation", "mutates"),
    [
        ("sts", "assume_role", False),
        ("logs", "start_query", False),
        ("logs", "stop_query", False),
        ("ecs", "start_task", True),
        ("ecs", "stop_task", True),
        ("ssm", "put_parameter", True),
        ("ssm", "get_parameter", False),
        ("iam", "assume_role", True),  # the allow-list is per service
        ("route53", "test_dns_answer", False),
        # Names that start like a read but write (found by review):
        ("apigateway", "test_invoke_method", True),
        ("codecommit", "test_repository_triggers", True),
        ("license-manager", "checkout_license", True),
        ("license-manager", "checkout_borrow_license", True),
        ("lambda", "checkpoint_durable_execution", True),
        ("elasticbeanstalk", "check_dns_availability", False),
    ],
)
def test_allow_list_is_per_operation(service: str, operation: str, mutates: bool) -> None:
    assert aws_mutates(service, operation) is mutates


def test_allow_list_is_short_and_documented() -> None:
    assert len(READ_ONLY_ALLOW_LIST) <= 8
    assert all(reason for reason in READ_ONLY_ALLOW_LIST.values())


@pytest.mark.parametrize(
    ("method", "mutates"),
    [("GET", False), ("head", False), ("OPTIONS", False), ("POST", True), ("PATCH", True)],
)
def test_safe_http_methods(method: str, mutates: bool) -> None:
    assert http_mutates(method) is mutates


def test_the_gate_sits_below_aws_http_and_engine() -> None:
    """A security review reads one package: it imports nothing above it."""
    import ast
    from pathlib import Path

    import hybridops.gate

    allowed = ("hybridops.gate", "hybridops.errors", "hybridops.state")
    for path in Path(hybridops.gate.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hybridops"):
                assert str(node.module).startswith(allowed), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("hybridops") or alias.name.startswith(
                        allowed
                    ), f"{path.name} imports {alias.name}"
    # ...and nothing else lists the safe methods or the read-only rules again.
    src = Path(hybridops.gate.__file__).parent.parent
    for path in src.rglob("*.py"):
        if path.parent.name == "gate":
            continue
        text = path.read_text()
        assert "READ_ONLY_PREFIXES" not in text and "SAFE_HTTP" not in text, path
