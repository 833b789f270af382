"""`when:` conditions are reference-checked like ${{ }} templates: a typo is not a skipped step."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Cli

BOOK = """name: w
parameters:
  force: {type: boolean, default: false}
steps:
  - name: first
    aws: {service: ecs, operation: list_clusters}
    outputs: {arns: clusterArns}
  - name: second
    when: "WHEN"
    aws: {service: ecs, operation: list_clusters}
    outputs: {arns: clusterArns}
  - name: third
    aws: {service: ecs, operation: list_clusters}
    outputs: {arns: clusterArns}
"""


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        ("params.forse", "params.forse: no such parameter"),
        ("!(params.forse)", "params.forse: no such parameter"),
        ("steps.third.outputs.arns", "step 'third' runs later"),
        ("steps.nope.outputs.arns", "step 'nope' does not exist"),
        ("steps.first.outputs.arn", "step 'first' declares no output 'arn'"),
        ("steps.second.outputs.arns", "a step cannot test its own outputs"),
        ("parms.force", "parms.force: no such name"),
        ("params.force && steps.first.outputs.arnz[0]", "declares no output 'arnz'"),
        ("env.regoin == 'x'", "env.regoin"),
        # Found by review: JMESPath reads `!params.force` as `(!params).force` (always false).
        ("!params.force", "params alone names no value"),
        ("params | force", "params alone names no value"),
        ("@ | params.forse", "params.forse: no such parameter"),
    ],
)
def test_a_bad_reference_in_when_is_exit_2_at_its_line(
    cli: Cli, write_runbook: Any, when: str, problem: str
) -> None:
    path = write_runbook(BOOK.replace("WHEN", when.replace('"', '\\"')))
    result = cli("runbooks", "validate", str(path))
    assert result.code == 2, result.err
    assert f"{path}:9: steps[1].when: when: " in result.err
    assert problem in result.err


@pytest.mark.parametrize(
    "when",
    [
        "params.force",
        "!(params.force)",
        "steps.first.outputs.arns",
        "length(steps.first.outputs.arns[?contains(@, 'x')]) > `0`",
        "steps.first.outputs",
        "env.region == 'eu-central-1' && run.env == 'prod'",
    ],
)
def test_good_references_in_when_pass(cli: Cli, write_runbook: Any, when: str) -> None:
    path = write_runbook(BOOK.replace("WHEN", when))
    result = cli("runbooks", "validate", str(path))
    assert result.code == 0, result.err


def test_compensation_when_and_assert_paths_are_checked_too(cli: Cli, write_runbook: Any) -> None:
    book = """name: c
steps:
  - name: a
    aws: {service: ecs, operation: list_clusters}
    outputs: {arns: clusterArns}
  - name: check
    assert:
      that: {steps.a.outputs.arnz: {exists: true}}
"""
    result = cli("runbooks", "validate", str(write_runbook(book)))
    assert result.code == 2
    assert "declares no output 'arnz'" in result.err
