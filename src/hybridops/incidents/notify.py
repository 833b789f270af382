"""Incident notifications: templates rendered per incident, sent to every configured channel.

A failing channel is retried once and reported; the others still go out. Every attempt is
kept on the incident, so `incident notify ID` resends what did not arrive. Secrets (webhook
URLs, routing keys) are read from environment variables named in the config, registered with
the redactor before anything is sent, and never stored.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridops.errors import ConfigError
from hybridops.incidents.lifecycle import when

INITIAL = """[P{severity_level}] Hybrid Routing Incident - {title}

Incident ID: {id}
Severity: {severity}
Start Time: {started_at}
Affected Services: {service}
Impact: {impact}

Current Status: {status}
Next Update: {next_update_at}

Incident Commander: {commander}
Communication Channel: {channel}
Status Page: {status_page_url}
"""
UPDATE = """[{severity}] {id} {status}: {title}

{note}
Next Update: {next_update_at}
"""
DEFAULT_TEMPLATES = {"initial": INITIAL, "update": UPDATE}
# Kinds without a template of their own: an acknowledgement reads as an update (`ack.txt`
# overrides it, else `update.txt`); PagerDuty is told to acknowledge instead of trigger.
TEMPLATE_OF = {"ack": "update"}
TIMES = (
    "started_at",
    "respond_by",
    "escalate_at",
    "acknowledged_at",
    "mitigated_at",
    "next_update_at",
    "resolved_at",
)
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
PAGERDUTY_SEVERITY = {"P0": "critical", "P1": "error", "P2": "warning", "P3": "info"}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


def render(kind: str, record: dict[str, Any], templates_dir: Path | None, **extra: Any) -> str:
    """The message for an incident from `kind`.txt in templates_dir, else the built-in one."""
    base = TEMPLATE_OF.get(kind, kind)
    text = DEFAULT_TEMPLATES[base]
    for name in dict.fromkeys((kind, base)):
        if templates_dir is not None and (templates_dir / f"{name}.txt").is_file():
            text = (templates_dir / f"{name}.txt").read_text()
            break
    values = _Blank({k: v for k, v in record.items() if v not in (None, "", [])})
    for key in TIMES:
        if key in values:  # people read these messages: times as they read them
            values[key] = when(values[key])
    values.update({k: v for k, v in extra.items() if v not in (None, "")})
    values["severity_level"] = str(record.get("severity", "P?")).lstrip("P")
    try:
        return text.format_map(values)
    except (ValueError, IndexError, AttributeError) as exc:
        raise ConfigError(f"template {kind}.txt: {exc}") from None


@dataclass
class Channel:
    """Where a message goes: a name, and how to send it (text, record, kind; raises)."""

    name: str
    send: Callable[[str, dict[str, Any], str], None]


def _secret(env_var: str | None, what: str, redact: Callable[[str], None]) -> str | None:
    if not env_var:
        return None
    value = os.environ.get(env_var)
    if not value:
        raise ConfigError(f"notify: {what} is configured from ${env_var}, which is not set")
    redact(value)  # never printed, journaled or audited
    return value


def channels(
    settings: Any,
    *,
    post: Callable[[str, dict[str, Any]], int],
    sns: Callable[[], Any],
    redact: Callable[[str], None],
) -> list[Channel]:
    """The configured channels; `post(url, json) -> status` is the (gated) HTTP client."""
    out: list[Channel] = []

    def checked(url: str, body: dict[str, Any]) -> None:
        status = post(url, body)
        if status >= 300:
            raise RuntimeError(f"HTTP {status}")

    slack = _secret(settings.slack_webhook_url_env, "the Slack webhook", redact)
    if slack:
        out.append(Channel("slack", lambda text, rec, kind: checked(slack, {"text": text})))
    webhook = _secret(settings.webhook_url_env, "the webhook URL", redact)
    if webhook:
        out.append(
            Channel(
                "webhook",
                lambda text, rec, kind: checked(
                    webhook, {"text": text, "kind": kind, "incident": _public(rec)}
                ),
            )
        )
    if settings.sns_topic_arn:
        topic = settings.sns_topic_arn

        def publish(text: str, rec: dict[str, Any], kind: str) -> None:
            subject = text.splitlines()[0][:99] if text else rec["id"]
            sns().publish(TopicArn=topic, Subject=subject, Message=text)

        out.append(Channel("sns", publish))
    routing_key = _secret(settings.pagerduty_routing_key_env, "the PagerDuty routing key", redact)
    if routing_key:
        url = settings.pagerduty_url or PAGERDUTY_URL

        def page(text: str, rec: dict[str, Any], kind: str) -> None:
            if rec.get("status") == "resolved":
                action = "resolve"
            else:
                # Acknowledging stops PagerDuty paging the next person on its escalation.
                action = "acknowledge" if kind == "ack" else "trigger"
            body: dict[str, Any] = {
                "routing_key": routing_key,
                "event_action": action,
                "dedup_key": rec["id"],
            }
            if action == "trigger":
                body["payload"] = {
                    "summary": text.splitlines()[0][:1024],
                    "source": rec.get("service") or "hybrid-routing",
                    "severity": PAGERDUTY_SEVERITY.get(rec["severity"], "error"),
                    "custom_details": _public(rec),
                }
            checked(url, body)

        out.append(Channel("pagerduty", page))
    return out


def _public(record: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "severity",
        "title",
        "status",
        "started_at",
        "service",
        "impact",
        "commander",
        "acknowledged_by",
    )
    return {k: record.get(k) for k in keys}


def deliver(
    message: str,
    record: dict[str, Any],
    targets: list[Channel],
    *,
    kind: str = "update",
    attempts: int = 2,
    sleep: Callable[[float], object] = lambda _s: None,
) -> list[dict[str, Any]]:
    """Send to each channel (retrying), one outcome each; a failure never stops the others."""
    outcomes = []
    for channel in targets:
        error = None
        for attempt in range(attempts):
            try:
                channel.send(message, record, kind)
                error = None
                break
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt + 1 < attempts:
                    sleep(1.0)
        outcomes.append(
            {
                "channel": channel.name,
                "status": "sent" if error is None else "failed",
                "error": error,
                "at": dt.datetime.now(dt.timezone.utc).isoformat(),
            }
        )
    return outcomes


def send_for(
    runtime: Any, record: dict[str, Any], kind: str = "initial", *, note: str | None = None
) -> dict[str, Any]:
    """Render and send an incident message to every channel; outcomes kept on the incident.

    In a dry run nothing is sent: the message is returned for printing.
    """
    from hybridops.paths import user_config_dir

    incidents = runtime.loaded_config.config.incidents
    templates = (
        Path(incidents.templates_dir).expanduser()
        if incidents.templates_dir
        else user_config_dir() / "templates"
    )
    message = render(kind, record, templates, status_page_url=incidents.status_page_url, note=note)
    # Built in a dry run too: a channel whose secret is missing fails the plan, not the send.
    targets = _configured(runtime)
    if runtime.mode.dry_run:
        return _planned(message, [c.name for c in targets])
    return _deliver_and_keep(runtime, record, kind, message, targets)


def _planned(message: str, names: list[str]) -> dict[str, Any]:
    """What a dry run reports instead of sending: the message and where it would go."""
    return {"dry_run": True, "message": message, "channels": names, "notified": [], "failed": []}


def _configured(runtime: Any) -> list[Channel]:
    """The environment's channels, sending through the gated HTTP client and SNS client."""

    def post(url: str, body: dict[str, Any]) -> int:
        return int(runtime.http.client().post(url, json=body).status_code)

    return channels(
        runtime.env.settings.notify,
        post=post,
        sns=lambda: runtime.clients.client("sns"),
        redact=runtime.redactor.add,
    )


def unsent(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages whose latest attempt on a channel failed."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for item in record.get("notifications", []):
        latest[(item["kind"], item["channel"])] = item
    return [i for i in latest.values() if i["status"] == "failed"]


def resend(runtime: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Send again every message whose last attempt on a channel failed."""
    failed = unsent(record)
    every = {c.name: c for c in _configured(runtime)}
    if runtime.mode.dry_run:
        names = [i["channel"] for i in failed if i["channel"] in every]
        return _planned("\n".join(i["message"] for i in failed), names)
    notified: list[str] = []
    errors: list[dict[str, Any]] = []
    for item in failed:
        channel = every.get(item["channel"])
        if channel is None:
            continue
        result = _deliver_and_keep(runtime, record, item["kind"], item["message"], [channel])
        notified += result["notified"]
        errors += result["failed"]
    return {"notified": notified, "failed": errors}


def _deliver_and_keep(
    runtime: Any, record: dict[str, Any], kind: str, message: str, targets: list[Channel]
) -> dict[str, Any]:
    gate = runtime.gate
    # The operator's command is the authorisation: notifying needs no second prompt.
    with gate.scope(f"notify:{kind}", authorized=True, runbook="incident", run_id=record["id"]):
        outcomes = deliver(message, record, targets, kind=kind)
    for outcome in outcomes:
        outcome["error"] = runtime.redactor.text(outcome["error"]) if outcome["error"] else None
        outcome["kind"] = kind
        outcome["message"] = message

    def keep(rec: dict[str, Any]) -> dict[str, Any]:
        rec.setdefault("notifications", []).extend(outcomes)
        return rec

    runtime.store.update_incident(record["id"], keep)
    return {
        "notified": [o["channel"] for o in outcomes if o["status"] == "sent"],
        "failed": [
            {"channel": o["channel"], "error": o["error"]}
            for o in outcomes
            if o["status"] == "failed"
        ],
    }
