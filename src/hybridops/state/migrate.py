"""Copy a local SQLite history into another store (the team's DynamoDB table)."""

from __future__ import annotations

from typing import Any

from hybridops.state.sqlite import SqliteStore
from hybridops.state.store import StateStore


def migrate(source: SqliteStore, target: StateStore) -> dict[str, int]:
    """Audit records, runs, known-good revisions, incidents with timelines, action items.

    Incidents already in the target are skipped with their timelines, so running it twice does
    not duplicate entries; audit records and runs are keyed, so they are idempotent too.
    """
    counts = {"audit": 0, "runs": 0, "known_good": 0, "incidents": 0, "timeline": 0, "actions": 0}
    for record in source.list_audit():
        target.append_audit(record)
        counts["audit"] += 1
    for run in source.list_runs(limit=1_000_000):
        target.record_run(run)
        counts["runs"] += 1
    for family, arn in source.all_known_good():
        target.record_known_good(family, arn)
        counts["known_good"] += 1
    copied: set[str] = set()
    for incident in reversed(source.list_incidents()):
        if target.create_incident(incident):
            copied.add(incident["id"])
            counts["incidents"] += 1
            for entry in source.timeline(incident["id"]):
                target.add_timeline(incident["id"], entry)
                counts["timeline"] += 1
    for item in source.list_actions():
        if item["incident_id"] in copied:
            fields: dict[str, Any] = {
                k: v for k, v in item.items() if k not in ("n", "incident_id")
            }
            target.add_action(item["incident_id"], fields)
            counts["actions"] += 1
    return counts
