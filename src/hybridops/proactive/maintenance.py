"""Maintenance windows: a snapshot before and after, alarm actions muted for the window and
restored exactly, a checklist ticked in order, regressions called out."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridops.errors import BadInput, ConfigError, Refused, translate
from hybridops.plaintext import said_yes
from hybridops.state.store import actor, iso, utcnow

if TYPE_CHECKING:
    from hybridops.runtime import Runtime

# The report's scheduled-maintenance checklist, when the config names none.
DEFAULT_CHECKLIST = [
    "Window announced (status page, team channel) with its start and expected end",
    "No P0/P1 incident open",
    "The on-call engineer knows, and is not the one doing the work",
    "Rollback ready: `hybridops --dry-run rollback` shows the target revision",
]
VERDICT_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}
# Below this many requests in either snapshot's window, a percentile or a rate moves with a
# single request: shown, not judged.
MIN_SAMPLES = 200


def checklist(runtime: Runtime) -> list[str]:
    """The configured checklist (a YAML list of strings), else the report's."""
    from hybridops.yamlsource import load_yaml_file

    configured = runtime.env.settings.maintenance.checklist
    if not configured:
        return list(DEFAULT_CHECKLIST)
    path = Path(configured).expanduser()
    items = load_yaml_file(path)
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ConfigError(f"{path}: a maintenance checklist is a YAML list of non-empty strings")
    return [i.strip() for i in items]


# -- the snapshot ------------------------------------------------------------------------------


def _guard(part: Callable[[], Any]) -> Any:
    """One part of the snapshot; a failure is recorded, never raised (the estate may be down)."""
    try:
        return part()
    except Exception as exc:
        return {"error": translate(exc).message}


def snapshot(runtime: Runtime, *, kpi_minutes: int = 15) -> dict[str, Any]:
    """Health, KPIs, ECS counts and revisions, provisioned concurrency, DNS, circuits."""
    settings = runtime.env.settings
    clients = runtime.clients

    def health() -> Any:
        from hybridops.health.verdict import collect, target_for

        verdict = collect(
            target_for(settings),
            lambda service: clients.client(service),
            timeout_s=settings.http_timeout_s,
        )
        return {
            "status": verdict.status,
            "failing": [c.name for c in verdict.checks if c.status == "fail"],
        }

    def kpis() -> Any:
        from hybridops.logs.run import run_kpi

        end = utcnow()
        start = end - dt.timedelta(minutes=kpi_minutes)
        groups = list(settings.log_groups)
        latency = run_kpi(runtime, "latency", None, groups, start, end)
        errors = run_kpi(runtime, "errors", None, groups, start, end)
        return {
            "minutes": kpi_minutes,
            "p95_ms": latency.summary.get("p95"),
            "p99_ms": latency.summary.get("p99"),
            "requests": errors.summary.get("count"),
            "latency_samples": latency.summary.get("count"),
            "error_rate": errors.summary.get("error_rate"),
        }

    def ecs() -> Any:
        services = (
            clients.client("ecs")
            .describe_services(cluster=settings.cluster, services=[settings.service])
            .get("services", [])
        )
        if not services:
            return {"error": f"service {settings.service} not found"}
        svc = services[0]
        return {
            "desired": svc.get("desiredCount"),
            "running": svc.get("runningCount"),
            "task_definition": svc.get("taskDefinition"),
            "deployments": [d.get("taskDefinition") for d in svc.get("deployments", [])],
        }

    def provisioned() -> Any:
        config = clients.client("lambda").get_provisioned_concurrency_config(
            FunctionName=settings.lambda_function, Qualifier=settings.lambda_alias
        )
        return {
            "requested": config.get("RequestedProvisionedConcurrentExecutions"),
            "status": config.get("Status"),
        }

    def dns() -> Any:
        if not (settings.hosted_zone_id and settings.record_name):
            return None
        from hybridops.aws import route53

        layout = route53.environment_layout(clients.client("route53"), settings)
        return {"serving": layout.serving, "values": layout.values}

    def circuits() -> Any:
        ssm = clients.client("ssm")

        def value(parameter: str) -> Any:
            return _guard(lambda: ssm.get_parameter(Name=parameter)["Parameter"]["Value"])

        return {name: value(parameter) for name, parameter in sorted(settings.circuits.items())}

    parts = {
        "health": health,
        "kpis": kpis,
        "ecs": ecs,
        "provisioned_concurrency": provisioned,
        "dns": dns,
        "circuits": circuits,
    }
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        futures = {name: pool.submit(_guard, part) for name, part in parts.items()}
        taken = {name: future.result() for name, future in futures.items()}
    return {"at": iso(utcnow()), **taken}


def _value(snap: dict[str, Any], *path: str) -> Any:
    node: Any = snap
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def compare(
    pre: dict[str, Any], post: dict[str, Any], regression_percent: float
) -> list[dict[str, Any]]:
    """Every difference between the snapshots; `regression` marks the ones that got worse."""
    rows: list[dict[str, Any]] = []

    def add(what: str, before: Any, after: Any, regression: bool, note: str = "") -> None:
        rows.append(
            {"what": what, "before": before, "after": after, "regression": regression, "note": note}
        )

    before, after = _value(pre, "health", "status"), _value(post, "health", "status")
    if before != after or after == "unhealthy":
        worse = VERDICT_RANK.get(str(after), 2) > VERDICT_RANK.get(str(before), 2)
        add("health", before, after, worse or after == "unhealthy")
    samples = [
        _value(snap, "kpis", key) for snap in (pre, post) for key in ("latency_samples", "requests")
    ]
    enough = all(isinstance(n, int) and n >= MIN_SAMPLES for n in samples)
    few = "" if enough else f"too few requests to judge (under {MIN_SAMPLES})"
    for key, label, judged in (
        ("p95_ms", "P95 latency (ms)", True),
        # P99 over 15 minutes rests on a handful of requests: shown, not judged.
        ("p99_ms", "P99 latency (ms)", False),
    ):
        b, a = _value(pre, "kpis", key), _value(post, "kpis", key)
        if isinstance(b, (int, float)) and isinstance(a, (int, float)) and a != b:
            # Both relative and absolute: +12% of 40 ms is noise, not a regression.
            grew = judged and b > 0 and (a - b) / b * 100 > regression_percent and a - b > 50
            change = f"{(a - b) / b * 100:+.0f}%" if b else ""
            add(label, b, a, grew and enough, "; ".join(x for x in (change, few) if x))
    b, a = _value(pre, "kpis", "error_rate"), _value(post, "kpis", "error_rate")
    if isinstance(b, (int, float)) and isinstance(a, (int, float)) and a != b:
        # Error rates are small: half a percentage point up is a regression whatever the ratio.
        worse = a - b > 0.5 or (b > 0 and (a - b) / b * 100 > regression_percent and a > 1)
        add("error rate (%)", b, a, worse and enough, few)
    running_b, running_a = _value(pre, "ecs", "running"), _value(post, "ecs", "running")
    desired_a = _value(post, "ecs", "desired")
    if running_b != running_a or (desired_a is not None and running_a != desired_a):
        short = isinstance(running_a, int) and isinstance(desired_a, int) and running_a < desired_a
        fewer = isinstance(running_a, int) and isinstance(running_b, int) and running_a < running_b
        add("ECS running tasks", running_b, running_a, short or fewer, f"desired {desired_a}")
    for key, label in (
        ("desired", "ECS desired count"),
        ("task_definition", "ECS task definition"),
    ):
        b, a = _value(pre, "ecs", key), _value(post, "ecs", key)
        if b != a:
            add(label, b, a, False)
    b, a = (
        _value(pre, "provisioned_concurrency", "requested"),
        _value(post, "provisioned_concurrency", "requested"),
    )
    if b != a:
        add("provisioned concurrency", b, a, isinstance(a, int) and isinstance(b, int) and a < b)
    b, a = _value(pre, "dns", "serving"), _value(post, "dns", "serving")
    if b != a:
        add("DNS serving side", b, a, False, "traffic moved")
    elif _value(pre, "dns", "values") != _value(post, "dns", "values"):
        add("DNS record values", _value(pre, "dns", "values"), _value(post, "dns", "values"), False)
    for name in sorted(set(_value(pre, "circuits") or {}) | set(_value(post, "circuits") or {})):
        b, a = _value(pre, "circuits", name), _value(post, "circuits", name)
        if b != a:
            add(f"circuit {name}", b, a, a == "open", "traffic routed away" if a == "open" else "")
    for part in ("health", "kpis", "ecs", "provisioned_concurrency", "dns"):
        error_b, error_a = _value(pre, part, "error"), _value(post, part, "error")
        if error_a and not error_b:
            add(f"{part} (unreadable)", "ok", error_a, True)
    return rows


# -- the window --------------------------------------------------------------------------------


def _service_alarms(runtime: Runtime) -> dict[str, list[dict[str, Any]]]:
    """The service's alarms by region (the primary, and us-east-1 for Route 53's)."""
    from hybridops.proactive.alarms import ROUTE53_METRICS_REGION, current

    settings = runtime.env.settings
    regions = [settings.region]
    if settings.hosted_zone_id and settings.region != ROUTE53_METRICS_REGION:
        regions.append(ROUTE53_METRICS_REGION)
    found: dict[str, list[dict[str, Any]]] = {}
    for region in regions:
        alarms = current(runtime.clients.client("cloudwatch", region), settings.alarms.prefix)
        found[region] = list(alarms.values())
    return found


def start(
    runtime: Runtime,
    *,
    reason: str,
    duration: dt.timedelta,
    emergency: bool,
    ticked: list[dict[str, Any]],
) -> dict[str, Any]:
    """Open the window: snapshot, record, mute the alarm actions that are enabled."""
    if not reason.strip():
        raise BadInput("--reason is required: say what the maintenance is, for the record")
    store = runtime.store
    env = runtime.env.name
    existing = store.open_window(env)
    if existing:
        raise Refused(
            f"a maintenance window is already open in {env}: {existing['id']} by"
            f" {existing['opened_by']} since {existing['started_at']} ({existing['reason']})",
            hint="end it first: hybridops maintenance end (--force if it is not yours)",
        )
    now = utcnow()
    window_id = f"MW-{now.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    pre = snapshot(runtime)
    alarms_now = _service_alarms(runtime)
    # Only what is enabled now is muted, and so re-enabled at the end: an alarm someone had
    # muted before the window stays muted after it.
    enabled = {
        region: [a["AlarmName"] for a in alarms if a.get("ActionsEnabled", True)]
        for region, alarms in alarms_now.items()
    }
    already = {
        region: [a["AlarmName"] for a in alarms if not a.get("ActionsEnabled", True)]
        for region, alarms in alarms_now.items()
    }
    record: dict[str, Any] = {
        "id": window_id,
        "env": env,
        "reason": reason.strip(),
        "emergency": emergency,
        "opened_by": actor(),
        "started_at": iso(now),
        "ends_at": iso(now + duration),
        "muted": {r: names for r, names in enabled.items() if names},
        "already_muted": {r: names for r, names in already.items() if names},
        "checklist": ticked,
        "pre": pre,
        "status": "planned" if runtime.mode.dry_run else "open",
    }
    if runtime.mode.dry_run:
        _mute(runtime, record, enable=False)  # planned by the gate, not sent
        return record
    lost = store.open_maintenance(record)
    if lost is not None:
        raise Refused(f"another window was opened meanwhile: {lost['id']} by {lost['opened_by']}")
    # If muting fails half way, the stored window still names every alarm: `end` restores them.
    _mute(runtime, record, enable=False)
    return record


def _mute(runtime: Runtime, record: dict[str, Any], *, enable: bool) -> None:
    """Disable (or re-enable) exactly the recorded alarms' actions, through the gate."""
    verb = "enable_alarm_actions" if enable else "disable_alarm_actions"
    with runtime.gate.scope(
        "maintenance-end" if enable else "maintenance-start",
        authorized=True,  # the operator confirmed the window itself
        runbook="maintenance",
        run_id=record["id"],
    ):
        for region, names in record["muted"].items():
            cw = runtime.clients.client("cloudwatch", region)
            for chunk in range(0, len(names), 100):  # the API takes 100 names a call
                getattr(cw, verb)(AlarmNames=names[chunk : chunk + 100])


def end(runtime: Runtime, *, force: bool) -> dict[str, Any]:
    """Close the window: restore the muted actions, snapshot, compare (regressions flagged)."""
    store = runtime.store
    env = runtime.env.name
    record = store.open_window(env)
    if record is None:
        raise BadInput(f"no maintenance window is open in {env}")
    me = actor()
    if record["opened_by"] != me and not force:
        raise Refused(
            f"window {record['id']} was opened by {record['opened_by']}, not {me}",
            hint="--force ends it anyway (its muted alarm actions are restored)",
        )
    _mute(runtime, record, enable=True)
    post = snapshot(runtime)
    regression_percent = runtime.env.settings.reports.regression_percent
    differences = compare(record["pre"], post, regression_percent)
    now = utcnow()
    ended = record | {
        "status": "planned" if runtime.mode.dry_run else "ended",
        "ended_at": iso(now),
        "ended_by": me,
        "forced": force and record["opened_by"] != me,
        "post": post,
        "differences": differences,
        "regressions": [d for d in differences if d["regression"]],
    }
    if not runtime.mode.dry_run and not store.close_maintenance(ended):
        raise Refused(f"window {record['id']} was ended meanwhile by someone else")
    return ended


def status(runtime: Runtime, now: dt.datetime | None = None) -> dict[str, Any]:
    """The open window (elapsed, remaining or overdue) or the last one."""
    moment = now or utcnow()
    record = runtime.store.open_window(runtime.env.name)
    if record is None:
        windows = [w for w in runtime.store.list_maintenance() if w.get("env") == runtime.env.name]
        return {"open": False, "last": windows[0] if windows else None}
    return {"open": True, "window": record} | timing(record, moment)


def timing(record: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Elapsed and remaining seconds; overdue when past its end."""
    started = dt.datetime.fromisoformat(record["started_at"].replace("Z", "+00:00"))
    ends = dt.datetime.fromisoformat(record["ends_at"].replace("Z", "+00:00"))
    return {
        "elapsed_s": round((now - started).total_seconds()),
        "remaining_s": round((ends - now).total_seconds()),
        "overdue": now > ends,
    }


def open_window(runtime: Runtime, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The environment's open window with its timing (for `alarms list` and `doctor`)."""
    record = runtime.store.open_window(runtime.env.name)
    if record is None:
        return None
    return record | timing(record, now or utcnow())


def tick(
    items: list[str],
    *,
    emergency: bool,
    assume_yes: bool,
    ask: Callable[[str], str] | None,
) -> list[dict[str, Any]]:
    """Tick the checklist in order; an item not done refuses the window (nothing changed)."""
    if emergency:
        return [{"item": i, "ticked": None, "note": "skipped: emergency"} for i in items]
    ticked = []
    for number, item in enumerate(items, 1):
        if assume_yes:
            ticked.append({"item": item, "ticked": iso(utcnow()), "note": "assumed by --yes"})
            continue
        if ask is None:
            raise Refused(
                "the maintenance checklist needs a terminal to be ticked",
                hint="tick it at a terminal, pass --yes if it is done, or --emergency",
            )
        answer = ask(f"[{number}/{len(items)}] {item} — done? [y/N] ")
        if not said_yes(answer):
            raise Refused(f"checklist item {number} not done: {item}")
        ticked.append({"item": item, "ticked": iso(utcnow()), "note": ""})
    return ticked
