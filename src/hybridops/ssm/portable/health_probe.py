"""hybridops' `health.probe` as an SSM `aws:executeScript` handler (Python 3.8+, stdlib only).

GET BASE/health and each BASE/health/component/NAME, one after the other, and judge each as
hybridops does: pass (HTTP 200 saying healthy, ok, pass or up), warn (HTTP 200 saying degraded
or warn), else fail; no answer at all is a fail whose detail says why. The worst check is the
verdict: unhealthy, degraded or healthy.

InputPayload: the action's inputs (base_url; components, default []; timeout_s, default 5).
Returns {"status", "checks": [{"name", "status", "detail", "latency_ms"}]}, as hybridops does.
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
from typing import Any

ACTION = "health.probe"
USER_AGENT = "hybridops (SSM aws:executeScript)"
# A health answer is small; a larger body is cut (and then is not JSON).
MAX_BODY = 1 << 20


class RemoteError(Exception):
    """An HTTP endpoint gave no answer (hybridops: exit 4)."""


# -- inputs, checked and converted as hybridops' pydantic model does ------------------------

REQUIRED = object()
FIELDS: dict[str, tuple[str, Any, dict[str, float]]] = {
    "base_url": ("str", REQUIRED, {}),
    "components": ("list[str]", [], {}),
    "timeout_s": ("float", 5.0, {"gt": 0, "le": 120}),
}
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


# -- HTTP, as hybridops' `http` step answers ---------------------------------------------------


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


# -- the action ------------------------------------------------------------------------------


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


def handler(events: Any, context: Any) -> dict[str, Any]:
    """The SSM entry point: the step's InputPayload in, the action's outputs back."""
    inputs = _inputs(events)
    return probe(inputs["base_url"], inputs["components"], inputs["timeout_s"])
