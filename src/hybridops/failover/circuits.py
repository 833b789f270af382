"""Circuit breakers: state in SSM parameters; who changed them, when and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridops.errors import BadInput

if TYPE_CHECKING:
    from hybridops.runtime import Runtime


def parameter_for(runtime: Runtime, target: str) -> str:
    """The SSM parameter of a named breaker; BadInput for an unknown one."""
    circuits = runtime.env.settings.circuits
    if target not in circuits:
        known = ", ".join(sorted(circuits)) or "none configured"
        raise BadInput(f"unknown circuit {target!r} (known: {known})")
    return circuits[target]


def status(runtime: Runtime, target: str) -> dict[str, Any]:
    """The breaker's state, and its recent changes from SSM and from hybridops' audit trail."""
    parameter = parameter_for(runtime, target)
    ssm = runtime.clients.client("ssm")
    current = ssm.get_parameter(Name=parameter)["Parameter"]
    history: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"Name": parameter}
    while True:
        page = ssm.get_parameter_history(**kwargs)
        history.extend(page.get("Parameters", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    changes = [
        {
            "value": h.get("Value"),
            "at": h["LastModifiedDate"].isoformat() if h.get("LastModifiedDate") else None,
            "by": h.get("LastModifiedUser"),
            "description": h.get("Description"),
            "version": h.get("Version"),
        }
        for h in sorted(history, key=lambda h: h.get("Version", 0), reverse=True)[:10]
    ]
    audited = [
        {
            "at": r.get("at"),
            "caller": r.get("caller_arn"),
            "user": r.get("user"),
            "host": r.get("host"),
            "run_id": r.get("run_id"),
            "outcome": r.get("outcome"),
            "value": (r.get("params") or {}).get("Value"),
            "reason": (r.get("params") or {}).get("Description"),
        }
        for r in runtime.store.list_audit()
        if r.get("operation") == "put_parameter"
        and (r.get("params") or {}).get("Name") == parameter
        and r.get("outcome") != "started"
    ][-10:]
    last = audited[-1] if audited else None
    return {
        "target": target,
        "parameter": parameter,
        "state": current.get("Value"),
        "changed_at": current["LastModifiedDate"].isoformat()
        if current.get("LastModifiedDate")
        else None,
        "changed_by": last and f"{last['user']}@{last['host']} ({last['caller']})",
        "reason": last and last["reason"],
        "history": changes,
        "audit": list(reversed(audited)),
    }
