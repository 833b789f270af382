"""Game day: inject a fault, let the engineer work, time detection, mitigation and recovery."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hybridops.errors import TimedOut
from hybridops.sandbox import process
from hybridops.state.store import StateStore, iso, utcnow


@dataclass
class DrillReport:
    """What happened during a drill, from the audit trail and the run history."""

    scenario: str
    drill_id: str
    started_at: str
    detected_at: str | None = None
    mitigated_at: str | None = None
    recovered_at: str | None = None
    time_to_detect_s: float | None = None
    time_to_mitigate_s: float | None = None
    time_to_recover_s: float | None = None
    # The runbook runs since the fault, each with its final status.
    commands: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    final_state: dict[str, Any] = field(default_factory=dict)
    # The first request any hybridops command made of the drilled estate: detection.
    first_request: dict[str, Any] | None = None
    requests_seen: int = 0
    # --follow-triage: what triage recommended and was applied, in order; how the drill ended.
    followed_triage: bool = False
    triage_steps: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "recovered"

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


def _parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


def green(state: dict[str, Any], mitigated: bool) -> bool:
    """Traffic is served by a healthy (or knowingly degraded) region after a mitigation."""
    serving = state.get("serving_region", "eu-central-1")
    return mitigated and state.get("health", {}).get(serving) in ("healthy", "degraded")


def build_report(
    store: StateStore,
    scenario: str,
    drill_id: str,
    started: dt.datetime,
    operator: dict[str, Any] | None = None,
) -> DrillReport:
    """Derive detection and mitigation times from what the engineer ran and asked."""
    report = DrillReport(scenario, drill_id, iso(started))
    runs = _runs_since(store, started, drill_id)
    report.commands = [
        {
            "at": r["started_at"],
            "runbook": r["runbook"],
            "status": r["status"],
            "run_id": r["run_id"],
        }
        for r in runs
    ]
    audit = store.list_audit(since=started)
    report.changes = [
        {
            "at": a["at"],
            "step": a.get("step"),
            "call": f"{a['service']}.{a['operation']}",
            "outcome": a["outcome"],
        }
        for a in audit
        if a["outcome"] != "started"
    ]
    # Any command counts (health, logs search, alarms list...), not only runbook runs: the
    # sandbox saw every request hybridops made of it.
    first = (operator or {}).get("first")
    report.requests_seen = int((operator or {}).get("requests") or 0)
    if first and _parse(first["at"]) >= started - dt.timedelta(seconds=1):
        report.first_request = dict(first)
    detections = [_parse(r["started_at"]) for r in runs[:1]]
    if report.first_request is not None:
        detections.append(_parse(report.first_request["at"]))
    if detections:
        detected = min(detections)
        report.detected_at = iso(detected)
        report.time_to_detect_s = round(max(0.0, (detected - started).total_seconds()), 1)
    done = [a for a in audit if a["outcome"] == "succeeded"]
    if done:
        report.mitigated_at = done[0]["at"]
        report.time_to_mitigate_s = round((_parse(done[0]["at"]) - started).total_seconds(), 1)
    return report


def _runs_since(store: StateStore, started: dt.datetime, drill_id: str) -> list[dict[str, Any]]:
    """The engineer's runs since the drill started, oldest first."""
    runs = [
        r
        for r in store.list_runs(limit=500)
        if r["started_at"] >= iso(started) and r["run_id"] != drill_id
    ]
    runs.sort(key=lambda r: r["started_at"])
    return runs


def _record(
    store: StateStore,
    drill_id: str,
    scenario: str,
    started: dt.datetime,
    finished: dt.datetime | None,
    status: str,
) -> None:
    """Keep the drill in the run history beside the engineer's runs."""
    store.record_run(
        {
            "run_id": drill_id,
            "runbook": f"drill:{scenario}",
            "env": "sandbox",
            "status": status,
            "started_at": iso(started),
            "finished_at": iso(finished) if finished else None,
            "dry_run": False,
            "journal": None,
            "exit_code": 0 if status == "succeeded" else None,
        }
    )


def run_drill(
    record_path: Path,
    store: StateStore,
    scenario: str,
    *,
    interval_s: float = 2.0,
    timeout_s: float = 3600.0,
    settle_s: float = 30.0,
    progress: Callable[[dict[str, Any]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    follow: Callable[[set[str]], dict[str, Any] | None] | None = None,
) -> DrillReport:
    """Reset the sandbox, inject `scenario`, wait until the engineer has recovered the estate.

    With `follow` (--follow-triage), the engineer is triage itself: each round `follow` applies
    triage's first recommendation not applied yet (given the runbooks already run) and returns
    what it did, or None when triage has nothing new: the drill then ends, not recovered.
    """
    if not process.status(record_path)["running"]:
        process.start_detached(record_path)
    process.control(record_path, "reset")
    started = utcnow()
    drill_id = f"drill-{started.strftime('%Y%m%dT%H%M%SZ')}"
    process.control(record_path, "break", scenario)
    _record(store, drill_id, scenario, started, None, "running")
    deadline = time.monotonic() + timeout_s
    steps: list[dict[str, Any]] = []
    while True:
        state = process.control(record_path, "state")
        mitigated = any(a["outcome"] == "succeeded" for a in store.list_audit(since=started))
        if green(state, mitigated):
            break
        if progress is not None:
            progress(state)
        if follow is not None:
            asked = utcnow()
            done = follow({step["runbook"] for step in steps})
            if done is None:
                # Polled again: the state must include the requests triage itself just made.
                state = process.control(record_path, "state")
                return _given_up(store, scenario, drill_id, started, state, steps)
            # When triage said it: the run itself is timed by the mitigation and recovery.
            done["after_s"] = round((asked - started).total_seconds(), 1)
            steps.append(done)
            continue
        if time.monotonic() + interval_s > deadline:
            raise TimedOut(f"drill {scenario}: not recovered within {timeout_s:.0f}s")
        sleep(interval_s)
    recovered = utcnow()
    # The run that mended it may still be verifying: its final status belongs in the report.
    settle_until = min(deadline, time.monotonic() + settle_s)
    while any(r["status"] == "running" for r in _runs_since(store, started, drill_id)):
        if time.monotonic() + interval_s > settle_until:
            break
        sleep(interval_s)
    report = build_report(store, scenario, drill_id, started, state.get("operator"))
    report.followed_triage = follow is not None
    report.triage_steps = steps
    report.recovered_at = iso(recovered)
    report.time_to_recover_s = round((recovered - started).total_seconds(), 1)
    report.final_state = state
    _record(store, drill_id, scenario, started, recovered, "succeeded")
    return report


def _given_up(
    store: StateStore,
    scenario: str,
    drill_id: str,
    started: dt.datetime,
    state: dict[str, Any],
    steps: list[dict[str, Any]],
) -> DrillReport:
    """Following triage ended with the estate not green: triage had nothing more to apply."""
    report = build_report(store, scenario, drill_id, started, state.get("operator"))
    report.followed_triage = True
    report.triage_steps = steps
    report.outcome = "triage had nothing more to apply; not recovered"
    report.final_state = state
    _record(store, drill_id, scenario, started, utcnow(), "failed")
    return report
