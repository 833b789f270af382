"""`hybridops doctor` against the sandbox and against broken configurations."""

from __future__ import annotations

from typing import Any

from hybridops.proactive.doctor import role_arn_of
from tests.support import Cli, MotoServer


def checks(result: Any) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in result.json()["checks"]}


def test_doctor_on_the_sandbox(cli: Cli, sandbox_env: Any) -> None:
    result = cli("-o", "json", "doctor")
    assert result.code == 0, result.out
    found = checks(result)
    assert found["credentials"]["status"] == "pass"
    assert found["clock"]["status"] == "pass"
    assert found["state store"]["status"] == "pass"
    assert found["public name"]["status"] == "pass"
    # moto's caller is not a role the overlay knows: the check says it could not simulate.
    assert found["permissions"]["status"] == "warn"


def test_doctor_names_what_is_broken_and_the_fix(
    cli: Cli, moto: MotoServer, write_config: Any
) -> None:
    write_config(
        moto.url,
        "http://127.0.0.1:9",  # nothing listens on the discard port
        region="eu-moon-1",
        profile="oncall",
    )
    result = cli("-o", "json", "doctor")
    assert result.code == 1
    found = checks(result)
    assert found["region"]["status"] == "fail" and "eu-moon-1" in found["region"]["detail"]
    assert found["health endpoint"]["status"] == "fail"
    assert found["health endpoint"]["fix"]


def test_role_arn_of_an_assumed_role() -> None:
    assert (
        role_arn_of("arn:aws:sts::123456789012:assumed-role/OnCall/alice@example.com")
        == "arn:aws:iam::123456789012:role/OnCall"
    )
    assert role_arn_of("arn:aws:iam::123456789012:user/bob") == "arn:aws:iam::123456789012:user/bob"
