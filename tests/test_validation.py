"""Bad runbooks: each gets one clear error naming file:line and field, exit 2, nothing runs."""

from __future__ import annotations

import textwrap

import pytest

from tests.support import Cli, MotoServer

GOOD_STEP = """
  - name: describe
    aws: {service: ecs, operation: describe_clusters, params: {clusters: [c]}}
"""

# (case id, runbook text, expected line, expected fragment of the message)
BAD_RUNBOOKS = [
    ("yaml-syntax", "name: x\nsteps:\n  - name: a\n    aws: {service: ecs\n", 5, "invalid YAML"),
    ("not-a-mapping", "- just\n- a list\n", None, "must be a mapping"),
    ("missing-name", "steps:" + GOOD_STEP, None, "name: Field required"),
    ("bad-step-name", "name: x\nsteps:\n  - name: Bad Name\n    sleep: 0\n", 3, "steps[0].name"),
    (
        "duplicate-step",
        "name: x\nsteps:\n  - name: a\n    sleep: 0\n  - name: a\n    sleep: 0\n",
        5,
        "duplicate step name 'a'",
    ),
    ("no-kind", "name: x\nsteps:\n  - name: a\n    outputs: {}\n", 3, "exactly one kind"),
    (
        "two-kinds",
        "name: x\nsteps:\n  - name: a\n    sleep: 1\n    confirm: {message: m}\n",
        3,
        "several kinds",
    ),
    (
        "unknown-service",
        "name: x\nsteps:\n  - name: a\n    aws: {service: ecz, operation: describe_services}\n",
        4,
        "unknown AWS service 'ecz'",
    ),
    (
        "unknown-operation",
        "name: x\nsteps:\n  - name: a\n    aws: {service: ecs, operation: describe_servicez}\n",
        4,
        "unknown operation 'describe_servicez'",
    ),
    (
        "camel-case-operation",
        "name: x\nsteps:\n  - name: a\n    aws: {service: ecs, operation: DescribeServices}\n",
        4,
        "must be snake_case",
    ),
    ("unknown-field", "name: x\nsteps:\n  - name: a\n    sleep: 0\n    retrys: 2\n", 5, "retrys"),
    (
        "undeclared-param",
        "name: x\nsteps:\n  - name: a\n    aws: {service: ecs, operation: describe_clusters,"
        ' params: {clusters: ["${{ params.nope }}"]}}\n',
        4,
        "no such parameter",
    ),
    (
        "later-step",
        "name: x\nsteps:\n  - name: a\n    aws: {service: ecs, operation: describe_clusters,"
        ' params: {clusters: ["${{ steps.b.outputs.x }}"]}}\n  - name: b\n    sleep: 0\n',
        4,
        "step 'b' runs later",
    ),
    (
        "undeclared-output",
        "name: x\nsteps:" + GOOD_STEP + "  - name: b\n    aws: {service: ecs, operation:"
        ' describe_clusters, params: {clusters: ["${{ steps.describe.outputs.arn }}"]}}\n',
        6,
        "declares no output 'arn'",
    ),
    (
        "bad-param-default",
        "name: x\nparameters:\n  count: {type: integer, default: many}\nsteps:\n  - name: a\n    sleep: 0\n",
        3,
        "expected an integer",
    ),
    (
        "wait-on-mutation",
        "name: x\nsteps:\n  - name: a\n    wait:\n      aws: {service: ecs, operation: update_service}\n"
        "      until: {x: 1}\n",
        4,
        "a wait may only poll read-only operations",
    ),
    (
        "bad-jmespath",
        "name: x\nsteps:" + GOOD_STEP + "    outputs: {arn: 'clusters[0'}\n",
        5,
        "invalid JMESPath",
    ),
    (
        "bad-regex",
        "name: x\nsteps:" + GOOD_STEP + "    expect: {'clusters[0].status': {regex: '('}}\n",
        3,
        "invalid regex",
    ),
    ("duplicate-yaml-key", "name: x\nname: y\nsteps:" + GOOD_STEP, 2, "duplicate key 'name'"),
    (
        "unknown-action",
        "name: x\nsteps:\n  - name: a\n    action: {name: no.such.action}\n",
        4,
        "unknown action 'no.such.action'",
    ),
    (
        "bad-action-input",
        "name: x\nsteps:\n  - name: a\n    action: {name: health.probe, inputs: {base_url: u, colour: red}}\n",
        4,
        "unknown input 'colour'",
    ),
    (
        "bad-on-failure",
        "name: x\nsteps:\n  - name: a\n    sleep: 0\n    on_failure: retry\n",
        5,
        "on_failure",
    ),
    (
        "min-over-max",
        "name: x\nparameters:\n  n: {type: integer, minimum: 5, maximum: 1}\nsteps:\n  - name: a\n    sleep: 0\n",
        3,
        "minimum is greater than maximum",
    ),
    (
        "unclosed-template",
        "name: x\nsteps:\n  - name: a\n    http: {url: 'http://x/${{ params.a'}\n",
        4,
        "unclosed",
    ),
    (
        "unknown-env-key",
        "name: x\nsteps:\n  - name: a\n    http: {url: '${{ env.helth_url }}/health'}\n",
        4,
        "no such environment setting",
    ),
    (
        "bad-reference-root",
        "name: x\nsteps:\n  - name: a\n    http: {url: 'http://h/${{ secrets.token }}'}\n",
        4,
        "must start with one of",
    ),
    ("no-steps", "name: x\nsteps: []\n", 2, "at least 1 item"),
    (
        "expect-on-sleep",
        "name: x\nsteps:\n  - name: a\n    sleep: 1\n    expect: {x: 1}\n",
        3,
        "expect is not supported on a sleep step",
    ),
    (
        "http-bad-url",
        "name: x\nsteps:\n  - name: a\n    http: {url: 'ftp://x'}\n",
        4,
        "must start with http",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [pytest.param(t, ln, f, id=i) for i, t, ln, f in BAD_RUNBOOKS],
)
def test_bad_runbook_is_one_clear_error(
    cli: Cli, write_runbook, text: str, line: int | None, fragment: str
) -> None:
    path = write_runbook(text)
    result = cli("runbooks", "validate", str(path))
    assert result.code == 2
    message = result.err.strip()
    assert len(message.splitlines()) == 1, message
    assert fragment in message
    prefix = f"{path}:{line}:" if line else f"{path}"
    assert message.startswith(f"error: {prefix}"), message


def test_there_are_at_least_fifteen_distinct_bad_runbooks() -> None:
    assert len({fragment for *_, fragment in BAD_RUNBOOKS}) >= 15


def test_run_of_invalid_runbook_changes_nothing(
    cli: Cli, moto: MotoServer, write_config, write_runbook
) -> None:
    write_config(moto.url)
    path = write_runbook(
        textwrap.dedent(
            """
            name: x
            steps:
              - name: create
                aws: {service: ecs, operation: create_cluster, params: {clusterName: c}}
              - name: broken
                aws: {service: ecs, operation: describe_clusters,
                      params: {clusters: ["${{ params.missing }}"]}}
            """
        )
    )
    result = cli("--yes", "run", str(path))
    assert result.code == 2
    assert "no such parameter" in result.err
    assert moto.requests == []


def test_validate_accepts_every_builtin_runbook(cli: Cli) -> None:
    from hybridops.engine.loader import builtin_runbooks

    names = list(builtin_runbooks())
    assert names
    result = cli("-o", "json", "runbooks", "validate", *names)
    assert result.code == 0, result.err
    assert all(r["valid"] for r in result.json()["results"])


def test_bad_parameter_values_exit_2(cli: Cli, write_runbook, write_config) -> None:
    write_config()
    path = write_runbook(
        "name: x\nparameters:\n  n: {type: integer, minimum: 1, maximum: 5, required: true}\n"
        "  mode: {type: string, enum: [fast, slow]}\nsteps:\n  - name: a\n    sleep: 0\n"
    )
    assert "missing required parameter 'n'" in cli("run", str(path)).err
    for args, fragment in [
        (["-p", "n=9"], "above the maximum 5"),
        (["-p", "n=two"], "expected an integer"),
        (["-p", "n=2", "-p", "mode=medium"], "is not one of"),
        (["-p", "n=2", "-p", "other=1"], "unknown parameter 'other'"),
        (["-p", "n"], "expected NAME=VALUE"),
    ]:
        result = cli("run", str(path), *args)
        assert result.code == 2, (args, result.err)
        assert fragment in result.err


def test_schema_is_json_schema_of_the_format(cli: Cli) -> None:
    result = cli("runbooks", "schema")
    assert result.code == 0
    schema = result.json()
    assert schema["title"] == "hybridops runbook"
    step = schema["$defs"]["Step"]["properties"]
    for kind in ("aws", "http", "wait", "assert", "confirm", "sleep", "action"):
        assert kind in step
    for option in (
        "outputs",
        "expect",
        "when",
        "retries",
        "timeout_s",
        "on_failure",
        "compensate",
        "mutating",
    ):
        assert option in step
