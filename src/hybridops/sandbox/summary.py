"""The sandbox's state in words (no moto needed: the CLI reads it over the control API)."""

from __future__ import annotations

from typing import Any


def describe_estate(state: dict[str, Any]) -> str:
    """One line per estate a person reads: each region's health, or standby for a cold backup."""
    serving = state.get("serving_region")
    services = state.get("services") or {}
    standby = set(state.get("standby") or [])
    parts = []
    for region, health in (state.get("health") or {}).items():
        info = services.get(region) or {}
        if region in standby or (info.get("desired") == 0 and region != serving):
            parts.append(f"{region}: standby (desired 0)")
            continue
        detail = []
        if info:
            detail.append(str(info.get("task_definition")))
            detail.append(f"{info.get('running')}/{info.get('desired')} running")
            if info.get("rollout") not in (None, "COMPLETED"):
                detail.append(f"rollout {info.get('rollout')}")
        if region == serving:
            detail.append("serving")
        parts.append(f"{region}: {health}" + (f" ({', '.join(detail)})" if detail else ""))
    return " · ".join(parts)
