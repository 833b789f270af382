"""A run's text output shows what it found (a runbook's `report:`), and nothing reads as a repr."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hybridops.cli.render import print_report, print_run_result
from hybridops.engine.events import RunResult, StepRecord
from tests.support import Cli, HttpServer

ARN = "arn:aws:ecs:eu-central-1:123456789012:task-definition/hybrid-router"
# Text names a task definition family:revision (region and account are said elsewhere).
SHORT = "hybrid-router"


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, no_color=True, highlight=False), out


def _report(out: str) -> list[str]:
    """The report part of a run's text output: after the step table, before the status line."""
    lines = out.splitlines()
    start = lines.index("") + 1
    return lines[start:]


def _section(out: str, title: str) -> list[str]:
    """The lines under one report title, up to the next blank line."""
    lines = out.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


# -- the format: validated like the rest ---------------------------------------------------


BOOK = """\
name: book
parameters:
  who: {type: string, default: ops}
steps:
  - name: plan
    aws: {service: sts, operation: get_caller_identity}
    outputs: {account: Account, arn: Arn}
report:
%s
"""


@pytest.mark.parametrize(
    ("entry", "where", "problem"),
    [
        (
            "  - title: T\n    fields: {account: steps.plan.outputs.acount}",
            ":10: report[0].fields.account:",
            "steps.plan.outputs.acount: step 'plan' declares no output 'acount'",
        ),
        (
            '  - title: T\n    fields:\n      who: "${{ params.whom }}"',
            ":11: report[0].fields.who:",
            "${{ params.whom }}: no such parameter",
        ),
        (
            "  - title: T\n    lines: steps.later.outputs.x",
            ":10: report[0].lines:",
            "steps.later.outputs.x: step 'later' does not exist",
        ),
        (
            "  - title: T\n    fields: {reason: 'params.who || null'}",
            ":10: report[0].fields.reason:",
            "null: no such name (use params., steps., env. or run.)",
        ),
        (
            "  - title: T\n    fields: {x: env.no_such_setting}",
            ":10: report[0].fields.x:",
            "env.no_such_setting: no such environment setting",
        ),
        (
            "  - title: T\n    table: steps.plan.outputs.arn\n    lines: steps.plan.outputs.arn",
            ":9: report[0]:",
            "a report entry needs exactly one of: fields, table, lines",
        ),
        (
            "  - title: T\n    fields: {a: 'steps.plan.outputs[?'}",
            ":10: report[0].fields.a:",
            "invalid JMESPath",
        ),
        (
            "  - title: T\n    lines: steps.plan.outputs.arn\n    columns: {a: b}",
            ":9: report[0]:",
            "columns apply to a table only",
        ),
    ],
)
def test_a_report_is_validated_with_file_and_line(
    cli: Cli, write_runbook: Callable[[str], Path], entry: str, where: str, problem: str
) -> None:
    path = write_runbook(BOOK % entry)
    result = cli("runbooks", "validate", str(path))
    assert result.code == 2, result.out
    message = result.err.strip().splitlines()[0]
    assert f"{path}{where}" in message, message
    assert problem in message, message


def test_every_builtin_runbook_shows_its_findings() -> None:
    from hybridops.engine.loader import builtin_runbooks, load
    from hybridops.engine.report import check_report

    names = builtin_runbooks()
    assert len(names) >= 10
    for name, path in names.items():
        book = load(name).runbook
        assert book.report, f"{name} has no report: its text output would show only steps"
        from hybridops.yamlsource import load_yaml_file

        check_report(book, load_yaml_file(path), str(path))


# -- resolving: unknown values are left out, secrets masked -----------------------------------


def _resolve(text: str, scope: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    from hybridops.engine.loader import load_file
    from hybridops.engine.report import resolve_report

    path = tmp_path / "resolve.yaml"
    path.write_text(text)
    return resolve_report(load_file(path), scope)


SCALE = """\
name: scale
parameters:
  service: {type: string, default: svc}
steps:
  - name: plan
    aws: {service: sts, operation: get_caller_identity}
    outputs: {from: a, to: b, adjust: c, min: d, max: e}
  - name: wait
    aws: {service: sts, operation: get_caller_identity}
    outputs: {running: r, events: ev, rows: rows, diff: diff}
report:
  - title: "Service ${{ params.service }}"
    fields:
      desired count: "${{ steps.plan.outputs.from }} → ${{ steps.plan.outputs.to }}"
      running now: steps.wait.outputs.running
  - title: Bounds
    when: steps.plan.outputs.adjust
    fields: {min/max: "${{ steps.plan.outputs.min }}/${{ steps.plan.outputs.max }}"}
  - title: Events
    lines: steps.wait.outputs.events
    empty: no events
  - title: Rows
    table: steps.wait.outputs.rows
    columns: {name: n, state: s.state}
  - title: Changes
    table: steps.wait.outputs.diff
"""


def test_a_report_leaves_out_what_no_step_found(tmp_path: Path) -> None:
    # A dry run: the plan ran, the wait was only planned (its outputs are unknown).
    scope = {
        "params": {"service": "svc"},
        "steps": {"plan": {"outputs": {"from": 2, "to": 4, "adjust": False}}},
        "env": {},
        "run": {},
    }
    assert _resolve(SCALE, scope, tmp_path) == [
        {"title": "Service svc", "kind": "fields", "fields": {"desired count": "2 → 4"}}
    ]


def test_a_report_resolves_fields_tables_lines_and_diffs(tmp_path: Path) -> None:
    scope = {
        "params": {"service": "svc"},
        "steps": {
            "plan": {"outputs": {"from": 2, "to": 12, "adjust": True, "min": 1, "max": 10}},
            "wait": {
                "outputs": {
                    "running": 12,
                    "events": [],
                    "rows": [{"n": "a", "s": {"state": "healthy"}}, {"n": "b", "s": None}],
                    "diff": {"app": {"image": {"from": "app:2", "to": "app:1"}}},
                }
            },
        },
        "env": {},
        "run": {},
    }
    assert _resolve(SCALE, scope, tmp_path) == [
        {
            "title": "Service svc",
            "kind": "fields",
            "fields": {"desired count": "2 → 12", "running now": 12},
        },
        {"title": "Bounds", "kind": "fields", "fields": {"min/max": "1/10"}},
        {"title": "Events", "kind": "lines", "lines": [], "note": "no events"},
        {
            "title": "Rows",
            "kind": "table",
            "columns": ["name", "state"],
            "rows": [["a", "healthy"], ["b", None]],
        },
        {
            "title": "Changes",
            "kind": "table",
            "columns": ["what", "from", "to"],
            "rows": [["app image", "app:2", "app:1"]],
        },
    ]


def test_log_lines_read_as_logs_search_prints_them(tmp_path: Path) -> None:
    from hybridops.aws.log_lines import LineFormatter
    from hybridops.aws.logs import LogEvent

    text = (
        "name: errs\nsteps:\n  - name: errors\n"
        "    aws: {service: sts, operation: get_caller_identity}\n"
        "    outputs: {events: e}\n"
        "report:\n  - title: Errors\n    lines: steps.errors.outputs.events\n    format: log\n"
    )
    event: dict[str, Any] = {
        "timestamp": 1796015523123,
        "group": "/aws/ecs/hybrid-routing",
        "stream": "ecs/hybrid-router/task-a1",
        "message": '{"level": "ERROR", "message": "upstream error"}\n',
    }
    scope = {"params": {}, "steps": {"errors": {"outputs": {"events": [event]}}}}
    [entry] = _resolve(text, scope, tmp_path)
    expected = LineFormatter(colour=False).line(LogEvent(**event, event_id=""))
    assert entry["lines"] == [expected]
    assert expected == (
        '2026-11-30T05:12:03.123Z hybrid-routing/task-a1 {"level":"ERROR","message":"upstream error"}'
    )


def test_an_expression_failing_at_run_time_is_said_not_raised(tmp_path: Path) -> None:
    text = (
        "name: bad\nsteps:\n  - name: s\n    aws: {service: sts, operation: get_caller_identity}\n"
        "    outputs: {n: x}\n"
        "report:\n  - title: Broken\n    fields: {len: length(steps.s.outputs.n)}\n"
    )
    [entry] = _resolve(text, {"params": {}, "steps": {"s": {"outputs": {"n": 5}}}}, tmp_path)
    assert entry["title"] == "Broken"
    assert entry["note"].startswith("could not be shown: ")


def test_a_secret_output_is_masked_in_the_report(
    cli: Cli,
    write_config: Callable[..., Path],
    write_runbook: Callable[[str], Path],
    http_server: Callable[[Any], HttpServer],
) -> None:
    server = http_server(lambda method, path, body: (200, {"token": "s3cr3t-t0ken-value"}))
    write_config(health_url=server.url)
    book = write_runbook(
        "name: tok\nsteps:\n  - name: get\n"
        '    http: {url: "${{ env.health_url }}/token"}\n'
        "    outputs: {token: {path: json.token, secret: true}, status: status}\n"
        "report:\n  - title: Token\n"
        "    fields: {token: steps.get.outputs.token, answer: steps.get.outputs.status}\n"
    )
    text = cli("run", str(book))
    assert text.code == 0, text.err
    assert _section(text.out, "Token") == ["  token:  ***", "  answer: 200"]
    doc = cli("-o", "json", "run", str(book)).json()
    assert doc["report"] == [
        {"title": "Token", "kind": "fields", "fields": {"token": "***", "answer": 200}}
    ]
    assert "s3cr3t-t0ken-value" not in text.out + text.err + str(doc)


def test_json_has_a_report_key_only_when_there_is_one(
    cli: Cli, write_config: Callable[..., Path], write_runbook: Callable[[str], Path]
) -> None:
    write_config()
    book = write_runbook("name: quiet\nsteps:\n  - name: nap\n    sleep: 0\n")
    doc = cli("-o", "json", "run", str(book)).json()
    assert doc["status"] == "succeeded" and "report" not in doc


# -- rendering: exact text ------------------------------------------------------------------


def test_print_report_renders_fields_tables_lines_and_notes() -> None:
    console, out = _console()
    print_report(
        console,
        [
            {
                "title": "ECS service svc",
                "kind": "fields",
                "fields": {
                    "rollout": "COMPLETED",
                    "running/desired": "2/2",
                    "subnets": ["a", "b"],
                    "ready": True,
                },
            },
            {
                "title": "Targets",
                "kind": "table",
                "columns": ["target", "state", "reason"],
                "rows": [["10.0.1.10", "healthy", None], ["10.0.2.10", "[unhealthy]", "Timeout"]],
            },
            {"title": "Changes", "kind": "table", "columns": ["", ""], "rows": [["a", "1"]]},
            {"title": "Errors [ERROR]", "kind": "lines", "lines": ["t1 g/s boom [x]"]},
            {"title": "None found", "kind": "lines", "lines": [], "note": "no events"},
        ],
    )
    assert out.getvalue() == (
        "\n"
        "ECS service svc\n"
        "  rollout:         COMPLETED\n"
        "  running/desired: 2/2\n"
        "  subnets:         a, b\n"
        "  ready:           yes\n"
        "\n"
        "Targets\n"
        "  target     state        reason \n"
        "  10.0.1.10  healthy      -      \n"
        "  10.0.2.10  [unhealthy]  Timeout\n"
        "\n"
        "Changes\n"
        "  a  1\n"
        "\n"
        "Errors [ERROR]\n"
        "  t1 g/s boom [x]\n"
        "\n"
        "None found\n"
        "  no events\n"
    )


def test_print_run_result_shows_the_report_and_what_was_undone() -> None:
    result = RunResult("20261130T010000Z-abc", "scale-service", "prod", {}, status="failed")
    result.steps = [
        StepRecord("plan", "action", False, "succeeded", duration_s=0.05),
        StepRecord(
            "update-service",
            "aws",
            True,
            "succeeded",
            duration_s=0.01,
            compensation={"status": "succeeded", "call": "aws ecs.update_service"},
        ),
        StepRecord("wait-stable", "action", False, "timed_out", duration_s=5.0),
    ]
    result.report = [
        {"title": "ECS service svc", "kind": "fields", "fields": {"desired count": "2 → 4"}}
    ]
    result.duration_s = 5.06
    console, out = _console()
    print_run_result(console, result)
    assert out.getvalue().splitlines() == [
        "step            status     mutating   time",
        "plan            succeeded            0.05s",
        "update-service  succeeded  yes       0.01s",
        "wait-stable     timed_out            5.00s",
        "",
        "ECS service svc",
        "  desired count: 2 → 4",
        "",
        "undone: update-service — aws ecs.update_service",
        "failed · run 20261130T010000Z-abc · 5.06s",
    ]


# -- on the sandbox, through a pipe ----------------------------------------------------------


def test_recent_errors_prints_the_error_events_as_logs_search_does(
    cli: Cli, sandbox_env: Any
) -> None:
    sandbox_env.break_("bad-deploy")
    result = cli("run", "recent-errors")
    assert result.code == 0, result.err
    json_title = cli("-o", "json", "run", "recent-errors").json()["report"][0]["title"]
    title = next(line for line in result.out.splitlines() if line.startswith("ERROR events"))
    found = int(re.search(r": (\d+) found", title).group(1))  # type: ignore[union-attr]
    assert found > 0 and json_title.startswith("ERROR events in the last 10 minutes: ")
    assert title == (
        f"ERROR events in the last 10 minutes: {found} found, newest last (at most 10 shown)"
    )
    shown = [line[2:] for line in _section(result.out, title)]
    assert len(shown) == min(found, 10)
    search = cli("logs", "search", "--since", "15m", "--filter", "ERROR")
    assert search.code == 0, search.err
    printed = set(search.out.splitlines())
    for line in shown:
        assert line in printed, line  # the very line `logs search` prints
        assert '"level":"ERROR"' in line


def test_recent_errors_says_when_there_are_none(cli: Cli, sandbox_env: Any) -> None:
    result = cli("run", "recent-errors", "-p", "pattern=NO-SUCH-WORD", "-p", "minutes=1")
    assert result.code == 0, result.err
    title = "NO-SUCH-WORD events in the last 1 minutes: 0 found, newest last (at most 10 shown)"
    assert _section(result.out, title) == ["  none found"]


def test_service_status_prints_the_snapshot(cli: Cli, sandbox_env: Any) -> None:
    result = cli("run", "service-status")
    assert result.code == 0, result.err
    out = result.out
    assert _section(out, "ECS service hybrid-router-service (hybrid-routing-cluster)") == [
        f"  task definition: {SHORT}:2",
        "  running/desired: 2/2",
        "  rollout:         COMPLETED",
    ]
    deployments = _section(out, "Deployments")
    assert deployments[0].split() == [
        "status",
        "task",
        "definition",
        "rollout",
        "running",
        "desired",
        "failed",
    ]
    assert deployments[1].split() == ["PRIMARY", f"{SHORT}:2", "COMPLETED", "2", "2", "0"]
    targets = _section(out, "ALB targets")
    assert targets[0].split() == ["target", "port", "state", "reason"]
    assert len(targets) == 3 and all(t.split()[1:] == ["8080", "healthy", "-"] for t in targets[1:])
    health = _section(out, "Health endpoints: healthy")
    names = [line.split()[0] for line in health[1:]]
    assert names == ["health", "hybrid-router", "bedrock-client", "cache", "database"]
    assert all(line.split()[1:4] == ["pass", "HTTP", "200"] for line in health[1:])
    assert out.splitlines()[-1].startswith("succeeded · run ")


def test_json_carries_the_same_report(cli: Cli, sandbox_env: Any) -> None:
    doc = cli("-o", "json", "run", "service-status").json()
    assert [e["title"] for e in doc["report"]] == [
        "ECS service hybrid-router-service (hybrid-routing-cluster)",
        "Deployments",
        "ALB targets",
        "Health endpoints: healthy",
    ]
    assert doc["report"][0]["fields"] == {
        "task definition": f"{ARN}:2",
        "running/desired": "2/2",
        "rollout": "COMPLETED",
    }
    assert doc["report"][1]["rows"] == [["PRIMARY", f"{ARN}:2", "COMPLETED", 2, 2, 0]]
    planned = cli("-o", "json", "--dry-run", "scale", "service", "--to", "4").json()
    assert planned["report"][0]["fields"] == {"desired count": "2 → 4"}


def test_service_status_during_a_bad_deploy_shows_both_deployments(
    cli: Cli, sandbox_env: Any
) -> None:
    sandbox_env.break_("bad-deploy")
    result = cli("run", "service-status")
    assert result.code == 1
    fields = _section(result.out, "ECS service hybrid-router-service (hybrid-routing-cluster)")
    assert fields[0] == f"  task definition: {SHORT}:3"
    assert fields[2] == "  rollout:         IN_PROGRESS"
    rows = [line.split() for line in _section(result.out, "Deployments")[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("PRIMARY", f"{SHORT}:3", "IN_PROGRESS"),
        ("ACTIVE", f"{SHORT}:2", "COMPLETED"),
    ]
    # The checks that never ran show nothing rather than something untrue.
    assert "ALB targets" not in result.out and "Health endpoints" not in result.out


@pytest.mark.parametrize(
    ("scenario", "argv", "title", "expected"),
    [
        (
            None,
            ["--yes", "scale", "service", "--by", "+1"],
            "ECS service hybrid-router-service (hybrid-routing-cluster, primary region)",
            ["  desired count: 2 → 3", "  running now:   3/3"],
        ),
        (
            None,
            ["--yes", "run", "scale-lambda", "-p", "by=5", "-p", "interval_s=0.05"],
            "Lambda hybrid-router-function:live",
            ["  provisioned concurrency: 0 → 5", "  status now:              READY"],
        ),
        (
            None,
            ["--dry-run", "scale", "service", "--to", "4"],
            "ECS service hybrid-router-service (hybrid-routing-cluster, primary region)",
            ["  desired count: 2 → 4"],
        ),
        (
            None,
            ["--dry-run", "failover", "--to", "secondary"],
            "Failover of api.example.com",
            [
                "  traffic:              eu-central-1 → us-west-2 (failover routing)",
                "  served before:        primary",
                "  target service:       hybrid-router-service (hybrid-routing-cluster-backup)",
                "  target desired count: 0 → 3",
            ],
        ),
        (
            "bedrock-down",
            ["run", "bedrock-connection-failed"],
            "Bedrock in eu-central-1",
            [
                "  model:               anthropic.claude-3-5-sonnet-20240620-v1:0",
                "  role:                arn:aws:iam::123456789012:role/BedrockClientRole",
                "  bedrock:InvokeModel: allowed",
                "  allowed by:          bedrock-invoke",
                "  client component:    unhealthy",
            ],
        ),
    ],
)
def test_changes_and_checks_show_before_and_after(
    cli: Cli,
    sandbox_env: Any,
    scenario: str | None,
    argv: list[str],
    title: str,
    expected: list[str],
) -> None:
    if scenario:
        sandbox_env.break_(scenario)
    result = cli(*argv)
    assert _section(result.out, title) == expected, result.out + result.err


def test_circuit_open_shows_before_and_after(cli: Cli, sandbox_env: Any) -> None:
    result = cli("--yes", "circuit", "open", "--reason", "Bedrock 503s")
    assert result.code == 0, result.err
    lines = _section(result.out, "Circuit breaker /hybrid-routing/circuit-breaker/bedrock")
    assert lines[:4] == [
        "  before:            closed",
        "  set to:            open",
        "  parameter version: 2",
        "  reason:            Bedrock 503s",
    ]
    assert lines[4].startswith("  by:                ") and "@" in lines[4]
    assert lines[5] in ("  health after:      healthy", "  health after:      degraded")


def test_a_rollback_shows_the_revisions_and_what_changes(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("bad-deploy")
    result = cli("--yes", "run", "rollback-service", "-p", "interval_s=0.05")
    assert result.code == 0, result.err
    fields = _section(result.out, "ECS service hybrid-router-service (hybrid-routing-cluster)")
    assert fields[:2] == [
        f"  task definition:   {SHORT}:3 → {SHORT}:2",
        "  why this revision: the deployment in progress replaces it",
    ]
    assert "  rollout:           COMPLETED" in fields
    changes = [
        line.split() for line in _section(result.out, "What changes between the two revisions")
    ]
    assert changes[0] == ["what", "from", "to"]
    assert changes[1][:3] == ["hybrid-router", "image", changes[1][2]]
    assert changes[1][2].endswith(":1.6.0-rc1") and changes[1][3].endswith(":1.5.0")
    assert changes[2] == ["hybrid-router", "environment", "APP_VERSION", "1.6.0-rc1", "1.5.0"]
    events = _section(result.out, "ECS service events during the rollout")
    assert events and all(e.startswith("  (service hybrid-router-service) ") for e in events)


def test_a_restart_shows_the_new_deployment(cli: Cli, sandbox_env: Any) -> None:
    result = cli("--yes", "run", "restart-service")
    assert result.code == 0, result.err
    fields = _section(result.out, "ECS service hybrid-router-service (hybrid-routing-cluster)")
    assert fields[0] == f"  task definition: {SHORT}:2"
    before, after = fields[1].split(":", 1)[1].strip().split(" → ")
    assert before.startswith("ecs-svc/") and after.startswith("ecs-svc/") and before != after
    assert fields[2:] == ["  running/desired: 2/2", "  health after:    healthy"]


# -- on the sandbox, through a real terminal --------------------------------------------------


def _terminal(argv: list[str]) -> tuple[int, str]:
    """Run hybridops on a pseudo-terminal (stdin, stdout, stderr): its code and its output."""
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "200"},
    )
    os.close(slave)
    seen: list[bytes] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command finished and closed its terminal
                break
            if not chunk:
                break
            seen.append(chunk)
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(master)
    return code, b"".join(seen).decode(errors="replace")


def test_service_status_on_a_terminal_shows_the_snapshot(sandbox_env: Any) -> None:
    code, raw = _terminal(["run", "service-status"])
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", raw)
    assert code == 0, text
    assert "\x1b[1mECS service hybrid-router-service (hybrid-routing-cluster)" in raw  # bold
    lines = text.splitlines()
    assert f"  task definition: {SHORT}:2" in lines
    assert "  running/desired: 2/2" in lines
    deployments = _section(text, "Deployments")
    assert deployments[1].split() == ["PRIMARY", f"{SHORT}:2", "COMPLETED", "2", "2", "0"]
    assert "Health endpoints: healthy" in lines
    assert "ALB targets" in lines


# -- no Python reprs where people read ---------------------------------------------------------

REPR = re.compile(r"\{'|\['|': ")


def test_no_python_reprs_in_text_output(cli: Cli, sandbox_env: Any) -> None:
    commands = [
        ["health"],
        ["health", "bedrock"],
        ["health", "--secondary"],
        ["failover", "status"],
        ["circuit", "status"],
        ["alarms", "list"],
        ["--dry-run", "alarms", "sync"],
        ["scale", "check"],
        ["doctor"],
        ["config"],
        ["state", "check"],
        ["lock", "list"],
        ["runbooks", "list"],
        ["runbooks", "show", "scale-service"],
        ["runbooks", "show", "regional-failover"],
        ["sandbox", "status"],
        ["sandbox", "scenarios"],
        ["logs", "search", "--since", "5m", "--limit", "5"],
        ["logs", "query", "latency", "--since", "10m"],
        ["logs", "report", "daily", "--since", "1h", "--until", "now"],  # any time of day
        ["run", "service-status"],
        ["run", "recent-errors"],
        ["run", "bedrock-connection-failed"],
        ["--dry-run", "rollback"],
        ["--dry-run", "scale", "service", "--by", "+2"],
        ["--dry-run", "circuit", "open", "--reason", "sweep"],
        ["--dry-run", "failover", "--to", "secondary"],
        ["incident", "open", "-s", "P2", "-t", "sweep"],
        ["incident", "note", "checking the router"],
        ["incident", "escalate", "--to", "alice"],
        ["incident", "show"],
        ["incident", "list"],
        ["incident", "timeline"],
        ["--yes", "maintenance", "start", "--reason", "sweep"],
        ["maintenance", "status"],
        ["--yes", "maintenance", "end"],
        ["audit"],
        ["incident", "resolve"],
        ["incident", "postmortem"],
    ]
    broken = [
        ["health"],
        ["run", "service-status"],
        ["run", "recent-errors"],
        ["--dry-run", "rollback"],
    ]
    ran = 0
    for scenario, batch in ((None, commands), ("bad-deploy", broken)):
        if scenario:
            sandbox_env.break_(scenario)
        for argv in batch:
            result = cli(*argv)
            assert result.code in (0, 1), (argv, result.err)
            for line in (result.out + result.err).splitlines():
                assert not REPR.search(line), f"{' '.join(argv)}: {line}"
            ran += 1
    assert ran == len(commands) + len(broken)
