"""Alerting as code: the CloudWatch alarms the runbooks assume, created from config and listed
with their severity and the command to run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

MANAGED_TAG = "hybridops:managed"
SEVERITY_TAG = "hybridops:severity"
COMMAND_TAG = "hybridops:command"
ROUTE53_METRICS_REGION = "us-east-1"  # Route 53 health-check metrics exist only there

RUNBOOK_TAG = "hybridops:runbook"
TRIAGE = "hybridops triage"
# What each alarm beside the scale-up triggers watches (those come from health.scaling): its
# runbook is the one whose trigger tests an alarm on that metric.
ALARM_METRICS = {
    "error-rate": "HTTPCode_Target_5XX_Count",
    "availability": "HTTPCode_Target_5XX_Count",
    "health-check": "HealthCheckStatus",
}


def runbook_for_metric(metric: str | None) -> tuple[str | None, str]:
    """(runbook, command) for an alarm on `metric`: a trigger's runbook, else triage itself.

    A 5xx rate has several causes (a deploy, the region, Bedrock): triage weighs them.
    """
    from hybridops.triage.rules import command_words
    from hybridops.triage.run import alarm_runbooks

    mapped = alarm_runbooks().get(str(metric or ""))
    if mapped is None:
        return None, TRIAGE
    runbook, params = mapped
    if "${{" in repr(params):
        # Its parameters come from the facts at the time (scale to what the cap allows):
        # triage works them out.
        return runbook, TRIAGE
    return runbook, command_words(["hybridops", "run", runbook], params)


# The fields of put_metric_alarm that define an alarm (compared to find updates).
DEFINING = (
    "AlarmDescription",
    "AlarmActions",
    "OKActions",
    "Namespace",
    "MetricName",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "Metrics",
)


@dataclass
class AlarmSpec:
    """One alarm as config wants it."""

    key: str  # e.g. cpu-high
    region: str
    severity: str
    command: str
    definition: dict[str, Any]  # put_metric_alarm arguments, without Tags
    runbook: str = "triage"  # the runbook whose trigger the alarm maps to

    @property
    def name(self) -> str:
        """The alarm name."""
        return str(self.definition["AlarmName"])

    def tags(self) -> dict[str, str]:
        """The tags hybridops keeps on it."""
        return {
            MANAGED_TAG: "true",
            SEVERITY_TAG: self.severity,
            COMMAND_TAG: self.command,
            RUNBOOK_TAG: self.runbook,
        }


@dataclass
class Change:
    """create / update / unchanged / delete, with what differs."""

    action: str
    name: str
    region: str
    severity: str = ""
    fields: list[str] = field(default_factory=list)
    spec: AlarmSpec | None = None
    # Whether the alarm's actions are enabled now: an update keeps it (someone may have muted
    # them, and PutMetricAlarm would otherwise switch them back on).
    actions_enabled: bool = True

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "action": self.action,
            "name": self.name,
            "region": self.region,
            "severity": self.severity,
            "fields": self.fields,
        }


def _metric(namespace: str, metric: str, dimensions: dict[str, str]) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }


def desired(settings: Any, health_check_id: str | None = None) -> tuple[list[AlarmSpec], list[str]]:
    """The alarms config asks for, and notes on the ones it cannot define (missing settings)."""
    from hybridops.health.scaling import triggers

    cfg, slo = settings.alarms, settings.logs.slo
    prefix = cfg.prefix
    actions = (
        [settings.notify.sns_topic_arn] if cfg.notify and settings.notify.sns_topic_arn else []
    )
    notes: list[str] = []
    specs: list[AlarmSpec] = []

    def add(key: str, region: str, summary: str, metric: str, **definition: Any) -> None:
        from hybridops.config import ALARM_SEVERITIES

        severity = {**ALARM_SEVERITIES, **cfg.severities}.get(key, "P2")
        runbook, command = runbook_for_metric(metric)
        command = cfg.commands.get(key, command)
        mends = f"Runbook: {runbook}. " if runbook else "Runbook: chosen by triage. "
        body = {
            "AlarmName": f"{prefix}-{key}",
            "AlarmDescription": f"[{severity}] {summary}. {mends}Run: {command}",
            "AlarmActions": actions,
            "OKActions": actions,
            "TreatMissingData": "missing",
            **definition,
        }
        specs.append(AlarmSpec(key, region, severity, command, body, runbook or "triage"))

    def simple(metric: dict[str, Any], stat: str, minutes: int) -> dict[str, Any]:
        statistic = {"ExtendedStatistic": stat} if stat.startswith("p") else {"Statistic": stat}
        return {
            **metric,
            **statistic,
            "Period": 60,
            "EvaluationPeriods": minutes,
            "DatapointsToAlarm": minutes,
        }

    # The scale-up triggers are `scale check`'s own table: the two can never disagree.
    for trigger in triggers(settings):
        if trigger.missing:
            continue  # p95: said with the SLO alarms below
        add(
            trigger.alarm,
            settings.region,
            trigger.words,
            trigger.metric,
            **simple(
                _metric(trigger.namespace, trigger.metric, trigger.dimensions),
                trigger.statistic,
                trigger.minutes,
            ),
            Threshold=trigger.threshold / trigger.scale,  # in the metric's unit
            ComparisonOperator="GreaterThanThreshold",
        )
    if settings.load_balancer:
        alb = {"LoadBalancer": settings.load_balancer}

        def ratio(expression: str, label: str) -> list[dict[str, Any]]:
            def stat(metric_id: str, name: str) -> dict[str, Any]:
                return {
                    "Id": metric_id,
                    "MetricStat": {
                        "Metric": _metric("AWS/ApplicationELB", name, alb),
                        "Period": 60,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                }

            return [
                stat("errors", "HTTPCode_Target_5XX_Count"),
                stat("requests", "RequestCount"),
                {"Id": "slo", "Expression": expression, "Label": label, "ReturnData": True},
            ]

        add(
            "error-rate",
            settings.region,
            f"5xx error rate above the SLO of {slo.error_rate_pct:g}% for 5 min",
            ALARM_METRICS["error-rate"],
            Metrics=ratio("100 * errors / requests", "error rate %"),
            EvaluationPeriods=5,
            DatapointsToAlarm=5,
            Threshold=slo.error_rate_pct,
            ComparisonOperator="GreaterThanThreshold",
        )
        add(
            "availability",
            settings.region,
            f"availability below the SLO of {slo.availability_pct:g}% for 5 min",
            ALARM_METRICS["availability"],
            Metrics=ratio("100 - 100 * errors / requests", "availability %"),
            EvaluationPeriods=5,
            DatapointsToAlarm=5,
            Threshold=slo.availability_pct,
            ComparisonOperator="LessThanThreshold",
        )
    else:
        notes.append("p95-latency, error-rate, availability: set load_balancer (app/NAME/ID)")
    if health_check_id:
        add(
            "health-check",
            ROUTE53_METRICS_REGION,
            "the primary region's Route 53 health check failing for 2 min",
            ALARM_METRICS["health-check"],
            **simple(
                _metric("AWS/Route53", "HealthCheckStatus", {"HealthCheckId": health_check_id}),
                "Minimum",
                2,
            ),
            Threshold=1.0,
            ComparisonOperator="LessThanThreshold",
        )
    else:
        notes.append("health-check: set hosted_zone_id and record_name (a PRIMARY health check)")
    return specs, notes


def primary_health_check(clients: Any, settings: Any) -> str | None:
    """The PRIMARY failover record's health check id, if the environment has one."""
    if not (settings.hosted_zone_id and settings.record_name):
        return None
    from hybridops.aws import route53

    layout = route53.environment_layout(clients.client("route53"), settings)
    return layout.primary_check or None


def current(cw: Any, prefix: str) -> dict[str, dict[str, Any]]:
    """The region's alarms under the prefix, by name, each with its tags."""
    found: dict[str, dict[str, Any]] = {}
    for page in cw.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
    ):
        for alarm in page.get("MetricAlarms", []):
            tags = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
            alarm["Tags"] = {t["Key"]: t["Value"] for t in tags}
            found[alarm["AlarmName"]] = alarm
    return found


def _normal(value: Any) -> Any:
    """Compare like with like: numbers as floats, missing lists as empty."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _differs(spec: AlarmSpec, alarm: dict[str, Any]) -> list[str]:
    fields = []
    for key in DEFINING:
        want = spec.definition.get(key)
        have = alarm.get(key)
        if want is None and have in (None, [], ""):
            continue
        if key == "Dimensions" and spec.definition.get("Metrics"):
            continue
        if _normal(want if want is not None else []) != _normal(have if have is not None else []):
            fields.append(key)
    tags = alarm.get("Tags", {})
    fields += [f"tag {k}" for k, v in spec.tags().items() if tags.get(k) != v]
    return fields


def plan(
    specs: list[AlarmSpec], existing: dict[str, dict[str, dict[str, Any]]], *, prune: bool
) -> list[Change]:
    """What sync would do; `existing` is region -> name -> alarm."""
    changes: list[Change] = []
    wanted = {(s.region, s.name) for s in specs}
    for spec in specs:
        alarm = existing.get(spec.region, {}).get(spec.name)
        if alarm is None:
            changes.append(Change("create", spec.name, spec.region, spec.severity, [], spec))
            continue
        fields = _differs(spec, alarm)
        action = "update" if fields else "unchanged"
        enabled = bool(alarm.get("ActionsEnabled", True))
        changes.append(Change(action, spec.name, spec.region, spec.severity, fields, spec, enabled))
    for region, alarms in sorted(existing.items()):
        for name, alarm in sorted(alarms.items()):
            managed = alarm.get("Tags", {}).get(MANAGED_TAG) == "true"
            if managed and (region, name) not in wanted:
                severity = alarm.get("Tags", {}).get(SEVERITY_TAG, "")
                changes.append(
                    Change("delete" if prune else "would delete", name, region, severity)
                )
    return changes


def apply(clients: Any, changes: list[Change]) -> None:
    """Make the changes (each call passes the gate)."""
    for change in changes:
        cw = clients.client("cloudwatch", change.region)
        if change.action == "create" and change.spec is not None:
            tags = [{"Key": k, "Value": v} for k, v in change.spec.tags().items()]
            cw.put_metric_alarm(**change.spec.definition, Tags=tags)
        elif change.action == "update" and change.spec is not None:
            cw.put_metric_alarm(**change.spec.definition, ActionsEnabled=change.actions_enabled)
            # put_metric_alarm ignores Tags on an existing alarm: tag it separately.
            arn = cw.describe_alarms(AlarmNames=[change.name])["MetricAlarms"]
            if arn and "AlarmArn" in arn[0]:
                cw.tag_resource(
                    ResourceARN=arn[0]["AlarmArn"],
                    Tags=[{"Key": k, "Value": v} for k, v in change.spec.tags().items()],
                )
        elif change.action == "delete":
            cw.delete_alarms(AlarmNames=[change.name])


@dataclass
class AlarmRow:
    """One alarm as `alarms list` shows it."""

    name: str
    region: str
    state: str
    severity: str
    since: str
    for_s: float | None
    command: str
    managed: bool
    actions_enabled: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "name": self.name,
            "region": self.region,
            "state": self.state,
            "severity": self.severity,
            "since": self.since,
            "for_s": self.for_s,
            "command": self.command,
            "managed": self.managed,
            "actions_enabled": self.actions_enabled,
            "reason": self.reason,
        }


SEVERITY_ORDER = {"P0": 0, "P1": 1, "P2": 2, "P3": 3, "": 4}
STATE_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


def rows(
    existing: dict[str, dict[str, dict[str, Any]]], now: dt.datetime, *, firing: bool
) -> list[AlarmRow]:
    """Every alarm, worst first: ALARM before the rest, then by severity."""
    out = []
    for region, alarms in existing.items():
        for name, alarm in alarms.items():
            if firing and alarm.get("StateValue") != "ALARM":
                continue
            tags = alarm.get("Tags", {})
            updated = alarm.get("StateUpdatedTimestamp")
            since = (
                updated.astimezone(dt.timezone.utc) if isinstance(updated, dt.datetime) else None
            )
            command = tags.get(COMMAND_TAG) or runbook_for_metric(alarm.get("MetricName"))[1]
            out.append(
                AlarmRow(
                    name=name,
                    region=region,
                    state=str(alarm.get("StateValue", "")),
                    severity=tags.get(SEVERITY_TAG, ""),
                    since=since.strftime("%Y-%m-%dT%H:%M:%SZ") if since else "",
                    for_s=round((now - since).total_seconds(), 1) if since else None,
                    command=command,
                    managed=tags.get(MANAGED_TAG) == "true",
                    actions_enabled=bool(alarm.get("ActionsEnabled", True)),
                    reason=str(alarm.get("StateReason", "")),
                )
            )
    out.sort(key=lambda r: (STATE_ORDER.get(r.state, 3), SEVERITY_ORDER.get(r.severity, 4), r.name))
    return out


def regions_of(settings: Any, specs: list[AlarmSpec]) -> list[str]:
    """The regions holding the service's alarms."""
    return sorted({settings.region, *(s.region for s in specs)})


def alarm_regions(settings: Any) -> list[str]:
    """Where the service's alarms live: its region, and us-east-1 for Route 53's."""
    regions = {settings.region}
    if settings.hosted_zone_id and settings.record_name:
        regions.add(ROUTE53_METRICS_REGION)
    return sorted(regions)


def sync_plan(runtime: Any, *, prune: bool) -> tuple[list[Change], list[str]]:
    """The diff between config and CloudWatch (reads only), and notes on skipped alarms."""
    from hybridops.errors import translate

    settings = runtime.env.settings
    notes: list[str] = []
    try:
        check_id = primary_health_check(runtime.clients, settings)
    except Exception as exc:  # no Route 53 access must not block the other alarms
        check_id = None
        notes.append(f"health-check: Route 53 unreadable ({translate(exc).message})")
    specs, more = desired(settings, check_id)
    notes += more
    regions = sorted({*alarm_regions(settings), *(s.region for s in specs)})
    existing = {
        region: current(runtime.clients.client("cloudwatch", region), settings.alarms.prefix)
        for region in regions
    }
    return plan(specs, existing, prune=prune), notes


CHANGING = ("create", "update", "delete")


def sync_apply(runtime: Any, changes: list[Change], run_id: str) -> int:
    """Make the changes through the gate (asked once, planned in a dry run); how many."""
    from hybridops.errors import Refused

    todo = [c for c in changes if c.action in CHANGING]
    window = runtime.store.open_window(runtime.env.name) if todo else None
    if window is not None and not runtime.mode.dry_run:
        # A new alarm would page during the window, and the window would not know to restore
        # it: change the alarms before or after, not during.
        raise Refused(
            f"maintenance window {window['id']} is open: alarms are not changed during it",
            hint="hybridops maintenance end, then alarms sync (or --dry-run to see the diff)",
        )
    if todo:
        with runtime.gate.scope("alarms-sync", runbook="alarms", run_id=run_id):
            apply(runtime.clients, todo)
    return len(todo)


def listing(runtime: Any, *, firing: bool, now: dt.datetime) -> list[AlarmRow]:
    """Every alarm of the service (or only those in ALARM), worst first."""
    settings = runtime.env.settings
    existing = {
        region: current(runtime.clients.client("cloudwatch", region), settings.alarms.prefix)
        for region in alarm_regions(settings)
    }
    return rows(existing, now, firing=firing)
