"""Templating and matchers, as units."""

from __future__ import annotations

import pytest

from hybridops.engine.matching import evaluate, matches
from hybridops.engine.templating import TemplateError, iter_references, parse_reference, render
from hybridops.errors import ValidationError

SCOPE = {
    "params": {"count": 3, "name": "svc", "flags": [1, 2]},
    "steps": {"describe": {"outputs": {"arn": "arn:x", "list": ["a", "b"]}}},
    "env": {"region": "eu-central-1", "limits": {"max_desired_count": 20}},
    "run": {"id": "r1"},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${{ params.count }}", 3),
        ("${{params.flags}}", [1, 2]),
        ("n=${{ params.count }}", "n=3"),
        ("${{ env.region }}/${{ params.name }}", "eu-central-1/svc"),
        ("${{ steps.describe.outputs.list[1] }}", "b"),
        ("${{ env.limits.max_desired_count }}", 20),
        ("list=${{ params.flags }}", "list=[1,2]"),
        ("no templates", "no templates"),
        ("${{ run.id }}", "r1"),
    ],
)
def test_render(template: str, expected: object) -> None:
    assert render(template, SCOPE) == expected


def test_render_nested_structures_keeps_types() -> None:
    body = {"desiredCount": "${{ params.count }}", "tags": [{"v": "${{ params.name }}"}]}
    assert render(body, SCOPE) == {"desiredCount": 3, "tags": [{"v": "svc"}]}


def test_missing_reference_at_render_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"params.nope does not exist"):
        render("${{ params.nope }}", SCOPE)


@pytest.mark.parametrize("bad", ["${{ }}", "${{ params..x }}", "${{ secrets.x }}", "${{ [0] }}"])
def test_malformed_references(bad: str) -> None:
    with pytest.raises(TemplateError):
        list(iter_references(bad))


def test_parse_reference_parts() -> None:
    assert parse_reference(" steps.my-step.outputs.x[2] ") == (
        "steps",
        "my-step",
        "outputs",
        "x",
        2,
    )


@pytest.mark.parametrize(
    ("actual", "expected", "ok"),
    [
        ("ACTIVE", "ACTIVE", True),
        ("DRAINING", "ACTIVE", False),
        (2, "2", True),
        (2, 2.0, True),
        ("ACTIVE", ["ACTIVE", "PROVISIONING"], True),
        ("INACTIVE", ["ACTIVE", "PROVISIONING"], False),
        (5, {"min": 1, "max": 5}, True),
        (6, {"min": 1, "max": 5}, False),
        ("abc", {"min": 1}, False),
        ("v1.5.0", {"regex": r"^v1\.5"}, True),
        (None, {"exists": False}, True),
        ("x", {"exists": False}, False),
        ("a", {"not": ["b", "c"]}, True),
        (["a", "b"], {"contains": "b"}, True),
        (True, True, True),
    ],
)
def test_matchers(actual: object, expected: object, ok: bool) -> None:
    assert matches(actual, expected) is ok


def test_evaluate_reports_each_mismatch() -> None:
    data = {"services": [{"status": "ACTIVE", "runningCount": 1, "desiredCount": 2}]}
    failures = evaluate(data, {"services[0].status": "ACTIVE", "services[0].runningCount": 2})
    assert [str(f) for f in failures] == ["services[0].runningCount: expected 2, got 1"]
