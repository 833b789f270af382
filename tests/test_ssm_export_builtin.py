"""Built-in runbooks exported for SSM: accepted as Automation documents, and run back through
hybridops on the sandbox to the same end state as the original (checked in AWS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridops.sandbox.topology import CLUSTER, PRIMARY, SERVICE
from tests.support import Cli

pytestmark = pytest.mark.slow

BREAKER = "/hybrid-routing/circuit-breaker/bedrock"
APPROVERS = "Approvers=arn:aws:iam::123456789012:role/OnCall"


def _service(sandbox: Any) -> dict[str, Any]:
    ecs = sandbox.internal_client("ecs", PRIMARY)
    return dict(ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0])


def _scaled(sandbox: Any) -> Any:
    svc = _service(sandbox)
    return svc["desiredCount"], svc["runningCount"]


def _breaker(sandbox: Any) -> Any:
    ssm = sandbox.internal_client("ssm")
    value = ssm.get_parameter(Name=BREAKER)["Parameter"]["Value"]
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [BREAKER]}])
    return value, described["Parameters"][0]["Description"]


# runbook -> (sandbox fault, parameters, the end state read in AWS, what it must be)
CASES: dict[str, tuple[str | None, list[str], Callable[[Any], Any], Any]] = {
    "scale-service": (
        "latency-spike",
        ["-p", "by=2", "-p", "timeout_s=60"],
        _scaled,
        (4, 4),
    ),
    "circuit-breaker": (
        "bedrock-down",
        ["-p", "state=open", "-p", "reason=bedrock 503s", "-p", "actor=kim"],
        _breaker,
        ("open", "open by kim: bedrock 503s"),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_exported_builtin_runbook_runs_back_to_the_same_end_state(
    cli: Cli, sandbox_env: Any, tmp_path: Path, name: str
) -> None:
    fault, params, state, expected = CASES[name]
    document = tmp_path / f"{name}.json"
    exported = cli("--env", "sandbox", "runbooks", "export", name, "--out", str(document))
    assert exported.code == 0, exported.err
    created = sandbox_env.internal_client("ssm").create_document(
        Content=document.read_text(), Name=name, DocumentType="Automation", DocumentFormat="JSON"
    )
    assert created["DocumentDescription"]["DocumentType"] == "Automation"
    # The confirmation became an approval: the document names who approves (--yes answers).
    approvers = ["-p", APPROVERS] if "Approvers" in document.read_text() else []
    ends = []
    for runbook, given in ((name, params), (str(document), [*params, *approvers])):
        sandbox_env.reset()
        if fault:
            sandbox_env.break_(fault)
        ran = cli("--yes", "--env", "sandbox", "run", runbook, *given)
        assert ran.code == 0, (runbook, ran.err[-3000:])
        ends.append(state(sandbox_env))
    assert ends == [expected, expected]


def test_the_other_exportable_runbooks_are_accepted_by_ssm(
    cli: Cli, sandbox_env: Any, tmp_path: Path
) -> None:
    names = ("service-status", "service-recovery", "restart-service", "recent-errors",
             "regional-failover", "bedrock-connection-failed")  # fmt: skip
    for name in names:
        document = tmp_path / f"{name}.json"
        exported = cli("--env", "sandbox", "runbooks", "export", name, "--out", str(document))
        assert exported.code == 0, exported.err
        created = sandbox_env.internal_client("ssm").create_document(
            Content=document.read_text(),
            Name=name,
            DocumentType="Automation",
            DocumentFormat="JSON",
        )
        assert created["DocumentDescription"]["DocumentType"] == "Automation"
    # A read-only one runs back green on the healthy estate, as the original does.
    ran = cli("--yes", "--env", "sandbox", "run", str(tmp_path / "service-status.json"))
    assert ran.code == 0, ran.err[-3000:]


def test_a_parameter_out_of_its_bounds_changes_nothing_in_the_export(
    cli: Cli, sandbox_env: Any, tmp_path: Path
) -> None:
    """SSM's types have no minimum/maximum: the export checks them first, before any change."""
    document = tmp_path / "scale-service.json"
    exported = cli(
        "--env", "sandbox", "runbooks", "export", "scale-service", "--out", str(document)
    )
    assert exported.code == 0, exported.err
    before = _scaled(sandbox_env)
    ran = cli("--yes", "--env", "sandbox", "run", str(document), "-p", "by=2", "-p", "timeout_s=5",
              "-p", APPROVERS)  # fmt: skip
    assert ran.code == 1
    assert "a parameter is outside its bounds" in ran.err
    assert _scaled(sandbox_env) == before
