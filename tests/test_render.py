"""Progress off a terminal is written without rich: the lines must be exactly rich's."""

from __future__ import annotations

import io

from rich.console import Console

from hybridops.cli.render import PlainConsole, RunProgress
from hybridops.engine.events import (
    CompensationFinished,
    CompensationStarted,
    Event,
    RunFinished,
    RunResult,
    RunStarted,
    StepFinished,
    StepRecord,
    StepStarted,
    WaitProgress,
)


def _events() -> list[Event]:
    result = RunResult("20261129T010000Z-abc", "scale-service", "prod", {}, dry_run=True)
    plan = StepRecord("plan", "action", False, "succeeded", duration_s=0.12, detail="2 -> 4")
    update = StepRecord("update-service", "aws", True, attempts=2)
    failed = StepRecord(
        "update-service",
        "aws",
        True,
        "failed",
        duration_s=1.5,
        error={"message": "AWS error: [throttled] x", "hint": "is the region right?"},
    )
    return [
        RunStarted(result, 3),
        StepStarted(result.run_id, plan, 0, 3, 'action ecs.plan_scale {"to":[4]}'),
        StepFinished(result.run_id, plan),
        StepStarted(result.run_id, update, 1, 3, "aws ecs.update_service [x]"),
        WaitProgress(result.run_id, "wait", 1.0, 600.0, "running 2/4"),
        WaitProgress(result.run_id, "wait", 2.0, 600.0, "running 2/4"),
        WaitProgress(result.run_id, "wait", 3.0, 600.0, "running 3/4"),
        StepFinished(result.run_id, failed),
        CompensationStarted(result.run_id, "plan", 'aws ecs.update_service {"desiredCount":2}'),
        CompensationFinished(result.run_id, "plan", "failed", "boom [bold]"),
        RunFinished(result),
    ]


def test_plain_progress_writes_exactly_what_rich_writes_off_a_terminal() -> None:
    rich_out, plain_out = io.StringIO(), io.StringIO()
    rich = Console(
        file=rich_out,
        force_terminal=False,
        no_color=True,
        color_system=None,
        width=100,
        highlight=False,
        soft_wrap=True,
    )
    with_rich, plain = RunProgress(rich), RunProgress(PlainConsole(plain_out))
    for event in _events():
        with_rich.handle(event)
        plain.handle(event)
    assert plain_out.getvalue() == rich_out.getvalue()
    assert plain_out.getvalue().splitlines()[:3] == [
        "run scale-service on prod (dry run) · 20261129T010000Z-abc",
        '1/3 plan: action ecs.plan_scale {"to":[4]}',
        "  ✓ plan succeeded 0.12s — 2 -> 4",
    ]


def test_plain_progress_is_silent_when_quiet() -> None:
    out = io.StringIO()
    progress = RunProgress(PlainConsole(out, quiet=True))
    for event in _events():
        progress.handle(event)
    assert out.getvalue() == ""
