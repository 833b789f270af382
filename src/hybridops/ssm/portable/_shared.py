"""What several portable scripts share, written once: `script_for()` writes the definitions a
script imports from here (and what they use, and their imports) into it: SSM runs it whole.

Python 3.8+, the standard library and boto3/botocore only, like the scripts themselves.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:  # each script defines these itself: its action, its inputs, the env.* it reads
    ACTION = ""
    FIELDS: dict[str, Any] = {}
    ALWAYS_SET: tuple[str, ...] = ()
    ENVIRONMENT: dict[str, str] = {}


class BadInput(Exception):
    """Bad input; nothing was changed (hybridops: exit 2)."""


REQUIRED = object()


_TRUE = {"1", "on", "t", "true", "y", "yes"}


_FALSE = {"0", "off", "f", "false", "n", "no"}


_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")


_BOUNDS = {"gt": "greater than", "ge": "greater than or equal to", "le": "less than or equal to"}


class ValidationError(Exception):
    """Inputs hybridops' action model rejects (hybridops: exit 2)."""


def _invalid(where: str, message: str) -> ValidationError:
    return ValidationError(f"action {ACTION!r}: input {where}: {message}")


def _convert(where: str, kind: str, value: Any) -> Any:
    """One value as pydantic's lax mode converts it (numbers from text, booleans from words)."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "str":
        if isinstance(value, str):
            return value
        raise _invalid(where, "Input should be a valid string")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        unreadable = ", unable to interpret input" if isinstance(value, (int, str)) else ""
        raise _invalid(where, "Input should be a valid boolean" + unreadable)
    if kind == "int":
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise _invalid(where, "Input should be a finite number")
            if not value.is_integer():
                raise _invalid(
                    where, "Input should be a valid integer, got a number with a fractional part"
                )
            return int(value)
        if isinstance(value, str):
            if _INT_TEXT.fullmatch(value.strip()):
                return int(value.strip().split(".")[0])
            raise _invalid(
                where, "Input should be a valid integer, unable to parse string as an integer"
            )
        raise _invalid(where, "Input should be a valid integer")
    if kind == "float":
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                if value.strip().isascii():
                    return float(value.strip())
            except ValueError:
                pass
            raise _invalid(
                where, "Input should be a valid number, unable to parse string as a number"
            )
        raise _invalid(where, "Input should be a valid number")
    if kind == "list[str]":
        if not isinstance(value, (list, tuple)):
            raise _invalid(where, "Input should be a valid list")
        return [_convert(f"{where}.{i}", "str", item) for i, item in enumerate(value)]
    choices = kind.split("|")
    if isinstance(value, str) and value in choices:
        return value
    raise _invalid(where, "Input should be " + " or ".join(repr(c) for c in choices))


def _inputs(events: Any) -> dict[str, Any]:
    """The action's inputs from the InputPayload: converted, checked, defaults filled in."""
    if not isinstance(events, dict):
        raise ValidationError(f"action {ACTION!r}: the InputPayload must be a mapping")
    out: dict[str, Any] = {}
    for name, (kind, default, bounds) in FIELDS.items():
        if name not in events:
            if default is REQUIRED:
                raise _invalid(name, "Field required")
            out[name] = list(default) if isinstance(default, list) else default
            continue
        value = _convert(name, kind, events[name])
        for bound, limit in bounds.items():
            if value is None:
                break
            if bound == "gt":
                within = value > limit
            else:
                within = value >= limit if bound == "ge" else value <= limit
            if not within:  # NaN is within nothing, as for pydantic
                raise _invalid(name, f"Input should be {_BOUNDS[bound]} {limit}")
        out[name] = value
    return out


def _region(events: dict[str, Any], which: str) -> str:
    """`primary`/`secondary`: the environment's region, from the payload; else a region name."""
    if which in ("", "primary"):
        key = "primary_region"
    elif which == "secondary":
        key = "secondary_region"
    else:
        return which
    region = events.get(key)
    if not isinstance(region, str) or not region:
        raise ValueError(f"the InputPayload has no {key}: the exported document passes it")
    return region


def _client(events: dict[str, Any], service: str, region: str) -> Any:
    """A boto3 client with hybridops' retries (adaptive) and timeouts."""
    config = Config(
        retries={
            "mode": "adaptive",
            "total_max_attempts": int(events.get("aws_max_attempts") or 5),
        },
        connect_timeout=10.0,
        read_timeout=float(events.get("aws_read_timeout_s") or 30.0),
    )
    return boto3.client(service, region_name=region, config=config)


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service description; BadInput if it does not exist."""
    response = ecs.describe_services(cluster=cluster, services=[service])
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        reason = (response.get("failures") or [{}])[0].get("reason", "MISSING")
        raise BadInput(f"ECS service {service!r} in cluster {cluster!r} not found ({reason})")
    return dict(services[0])


class TimedOut(Exception):
    """The wait ran past its timeout (hybridops: exit 5)."""


USER_AGENT = "hybridops (SSM aws:executeScript)"


# A health answer is small; a larger body is cut (and then is not JSON).
MAX_BODY = 1 << 20


class CheckFailed(Exception):
    """A check did not hold (hybridops: exit 1)."""


class ConfigError(Exception):
    """The environment's settings do not allow it (hybridops: exit 2)."""


class RemoteError(Exception):
    """An HTTP endpoint gave no answer (hybridops: exit 4)."""


def _environment(events: dict[str, Any]) -> dict[str, Any]:
    """The settings the action reads as env.*, under their hybridops names."""
    missing = [key for key in ALWAYS_SET if not events.get(key)]
    if missing:
        raise ValueError(
            f"the InputPayload has no {', '.join(missing)}: the exported document passes the"
            " environment's settings"
        )
    return {setting: events.get(key) for key, setting in ENVIRONMENT.items()}


def side_settings(env: dict[str, Any], side: str) -> dict[str, Any]:
    """Region, ECS service, health URL and target group of one side of the environment.

    (Settings the action does not read are not in its payload: None here.)
    """
    if side == "primary":
        return {
            "region": env["region"],
            "cluster": env.get("cluster"),
            "service": env.get("service"),
            "health_url": env.get("health_url"),
            "target_group_arn": env.get("target_group_arn"),
        }
    return {
        "region": env["secondary_region"],
        "cluster": env.get("backup_cluster"),
        "service": env.get("backup_service"),
        "health_url": env.get("secondary_health_url"),
        "target_group_arn": env.get("secondary_target_group_arn"),
    }


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.URLError(f"redirect to an unsupported protocol: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _read(response: Any, deadline: float) -> bytes:
    """At most MAX_BODY bytes of the body, all of it within the deadline."""
    chunks = []
    size = 0
    while True:
        chunk = response.read(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("body still arriving")
        if size >= MAX_BODY:
            break
    return b"".join(chunks)[:MAX_BODY]


def http_get(url: str, timeout: float) -> dict[str, Any]:
    """GET url: {"status", "json" (None unless a JSON body), "elapsed_ms"}; RemoteError if none."""
    scheme = urllib.parse.urlsplit(url).scheme
    if not scheme:
        raise RemoteError(
            f"HTTP GET {url}: Request URL is missing an 'http://' or 'https://' protocol."
        )
    if scheme not in ("http", "https"):
        raise RemoteError(f"HTTP GET {url}: Request URL has an unsupported protocol '{scheme}://'.")
    opener = urllib.request.build_opener(_Redirects())
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT}, method="GET")
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    try:
        try:
            response = opener.open(request, timeout=timeout)
            status = int(response.status)
        except urllib.error.HTTPError as exc:  # a status of 400 or more is an answer too
            response, status = exc, int(exc.code)
        try:
            body = _read(response, deadline)
        finally:
            response.close()
    # socket.timeout is TimeoutError from Python 3.10 only: SSM also runs 3.8 and 3.9.
    except (socket.timeout, TimeoutError):  # noqa: UP041
        raise RemoteError(f"HTTP GET {url}: timed out after {timeout:g}s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise RemoteError(f"HTTP GET {url}: timed out after {timeout:g}s") from None
        raise RemoteError(f"HTTP GET {url}: {reason or type(exc).__name__}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise RemoteError(f"HTTP GET {url}: {exc or type(exc).__name__}") from None
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return {"status": status, "json": parsed, "elapsed_ms": elapsed_ms}


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def records_for(route53: Any, zone_id: str, name: str) -> list[dict[str, Any]]:
    """Every record set named exactly `name` (all types, all set identifiers)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"HostedZoneId": zone_id, "StartRecordName": name}
    while True:
        page = route53.list_resource_record_sets(**kwargs)
        for record in page.get("ResourceRecordSets", []):
            if _fqdn(record["Name"]) == _fqdn(name):
                found.append(record)
            elif found:
                return found  # sorted by name: past ours
        if not page.get("IsTruncated"):
            return found
        kwargs["StartRecordName"] = page["NextRecordName"]
        kwargs["StartRecordType"] = page.get("NextRecordType")


def _value(record: dict[str, Any]) -> str | None:
    if "AliasTarget" in record:
        return str(record["AliasTarget"]["DNSName"]).rstrip(".").lower()
    values = record.get("ResourceRecords") or []
    return str(values[0]["Value"]).rstrip(".").lower() if values else None


def layout(
    route53: Any,
    zone_id: str,
    name: str,
    primary_target: str | None,
    secondary_target: str | None,
) -> dict[str, Any]:
    """Read the records of `name` and tell which side serves; CheckFailed if not as expected.

    {"mode": failover|simple, "records", "serving": primary|secondary|unknown,
    "primary_check", "primary_check_inverted", "values"}
    """
    records = records_for(route53, zone_id, name)
    if not records:
        raise CheckFailed(f"no Route 53 record {name} in hosted zone {zone_id}")
    failover: dict[str, dict[str, Any]] = {r["Failover"]: r for r in records if r.get("Failover")}
    if failover:
        if set(failover) != {"PRIMARY", "SECONDARY"}:
            raise CheckFailed(
                f"{name}: failover routing needs a PRIMARY and a SECONDARY record,"
                f" found {', '.join(sorted(failover))}"
            )
        check_id = failover["PRIMARY"].get("HealthCheckId")
        if not check_id:
            raise CheckFailed(f"{name}: the PRIMARY record has no health check to fail over with")
        config = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]
        inverted = bool(config["HealthCheckConfig"].get("Inverted"))
        return {
            "mode": "failover",
            "records": records,
            "serving": "secondary" if inverted else "primary",
            "primary_check": check_id,
            "primary_check_inverted": inverted,
            "values": {
                "PRIMARY": _value(failover["PRIMARY"]),
                "SECONDARY": _value(failover["SECONDARY"]),
            },
        }
    routable = [r for r in records if r["Type"] in ("CNAME", "A", "AAAA")]
    if len(routable) != 1:
        raise CheckFailed(
            f"{name}: expected one CNAME or alias record (or a failover pair),"
            f" found {len(routable)}"
        )
    if not primary_target or not secondary_target:
        raise ConfigError(
            "a simple (non-failover) record needs primary_target and secondary_target in the"
            " environment"
        )
    value = _value(routable[0])
    serving = {
        primary_target.rstrip(".").lower(): "primary",
        secondary_target.rstrip(".").lower(): "secondary",
    }.get(value or "", "unknown")
    return {
        "mode": "simple",
        "records": routable,
        "serving": serving,
        "primary_check": None,
        "primary_check_inverted": False,
        "values": {"record": value},
    }


def probe(base_url: str, components: list[str], timeout_s: float) -> dict[str, Any]:
    """Probe /health and each /health/component/NAME; return status and per-check detail."""
    base = base_url.rstrip("/")
    targets = [("health", f"{base}/health")] + [
        (name, f"{base}/health/component/{name}") for name in components
    ]
    checks = []
    for name, url in targets:
        try:
            result = http_get(url, timeout_s)
        except RemoteError as exc:
            checks.append({"name": name, "status": "fail", "detail": str(exc), "latency_ms": None})
            continue
        body = result["json"] if isinstance(result["json"], dict) else {}
        reported = str(body.get("status", "")).lower()
        if result["status"] == 200 and reported in ("healthy", "ok", "pass", "up"):
            status = "pass"
        elif result["status"] == 200 and reported in ("degraded", "warn"):
            status = "warn"
        else:
            status = "fail"
        detail = f"HTTP {result['status']}" + (f" {reported}" if reported else "")
        checks.append(
            {"name": name, "status": status, "detail": detail, "latency_ms": result["elapsed_ms"]}
        )
    statuses = {c["status"] for c in checks}
    verdict = "unhealthy" if "fail" in statuses else "degraded" if "warn" in statuses else "healthy"
    return {"status": verdict, "checks": checks}


def current_provisioned(lam: Any, function: str, alias: str) -> dict[str, Any] | None:
    """The provisioned concurrency config of an alias, or None if there is none."""
    try:
        response = lam.get_provisioned_concurrency_config(FunctionName=function, Qualifier=alias)
    except Exception as exc:
        if (
            type(exc).__name__ == "ProvisionedConcurrencyConfigNotFoundException"
            or "ProvisionedConcurrencyConfigNotFound" in str(exc)
        ):
            return None
        raise
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}
