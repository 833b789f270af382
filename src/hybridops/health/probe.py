"""Concurrent HTTP health probes: one pooled async client, bounded in flight, a timeout each."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hybridops import __version__

if TYPE_CHECKING:
    import httpx

HEALTHY = {"healthy", "ok", "pass", "up"}
DEGRADED = {"degraded", "warn", "warning"}


@dataclass
class Check:
    """One check's outcome."""

    name: str
    kind: str
    status: str  # pass | warn | fail
    detail: str
    latency_ms: float | None = None
    # What the check learnt besides its status (e.g. the deployed task definition).
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON shape."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "detail": self.detail,
            "latency_ms": self.latency_ms,
        }


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
MAX_REMOTE_TEXT = 300


def clean(text: Any) -> str | None:
    """Text an endpoint or AWS sent, fit to print: one line, no control characters, bounded.

    A reason is shown on a terminal and passed as a parameter (the breaker's reason): escape
    sequences and newlines would forge output, and SSM bounds a Description to 1024 chars.
    """
    if text is None:
        return None
    import unicodedata

    # Format characters too (U+202E and friends reorder what a terminal shows).
    shown = "".join(" " if unicodedata.category(c) == "Cf" else c for c in str(text))
    flat = " ".join(_CONTROL_RE.sub(" ", shown).split())
    return flat if len(flat) <= MAX_REMOTE_TEXT else flat[: MAX_REMOTE_TEXT - 1] + "…"


def classify(code: int, body: object) -> tuple[str, str]:
    """(pass|warn|fail, detail) from an HTTP status and a JSON body with `status`."""
    reported = (clean(body.get("status", "")) or "").lower() if isinstance(body, dict) else ""
    reason = clean(body.get("reason")) if isinstance(body, dict) else None
    detail = (
        f"HTTP {code}" + (f" {reported}" if reported else "") + (f": {reason}" if reason else "")
    )
    if code == 200 and reported in HEALTHY:
        return "pass", detail
    if code == 200 and reported in DEGRADED:
        return "warn", detail
    if code == 200 and not reported:
        return "warn", f"HTTP {code} without a status field"
    return "fail", detail


# httpcore's pool scans its connection list on every request, so one client with hundreds of
# connections costs O(n^2): 200 probes took 1.1 s through one pool and 0.25 s through pools of 8.
CONNECTIONS_PER_CLIENT = 8


# A health answer is small; a larger body is cut (and then is not JSON).
MAX_BODY = 1 << 20


async def _fetch(client: httpx.AsyncClient, url: str) -> tuple[int, bytes]:
    """GET url; its status and at most MAX_BODY bytes of its body."""
    async with client.stream("GET", url) as response:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY:
                break
        return response.status_code, b"".join(chunks)[:MAX_BODY]


async def _probe_all(
    targets: list[tuple[str, str]], timeout_s: float, concurrency: int, retries: int
) -> list[Check]:
    import httpx

    semaphore = asyncio.Semaphore(concurrency)
    # Loading the CA bundle costs ~20 ms per client; build the TLS context once for all shards.
    tls = httpx.create_ssl_context()
    shards = max(1, -(-min(concurrency, len(targets)) // CONNECTIONS_PER_CLIENT))
    per_client = -(-concurrency // shards)
    clients = [
        httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client),
            headers={"user-agent": f"hybridops/{__version__}"},
            follow_redirects=True,
            verify=tls,
        )
        for _ in range(shards)
    ]

    async def one(client: httpx.AsyncClient, name: str, url: str) -> Check:
        last = ""
        for _attempt in range(retries + 1):
            started = time.perf_counter()
            async with semaphore:
                try:
                    # httpx bounds each read; wait_for bounds the whole answer, so a body that
                    # trickles in cannot hold the probe past its timeout.
                    status_code, content = await asyncio.wait_for(_fetch(client, url), timeout_s)
                except (httpx.TimeoutException, TimeoutError):
                    last = f"timed out after {timeout_s:g}s"
                    continue
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    continue
            latency = round((time.perf_counter() - started) * 1000, 1)
            try:
                body = json.loads(content)
            except ValueError:
                body = None
            status, detail = classify(status_code, body)
            if status == "fail" and status_code >= 500 and _attempt < retries:
                last = detail
                continue
            said = body if isinstance(body, dict) else {}
            facts = {
                "reachable": True,
                "code": status_code,
                "reported": (clean(said.get("status", "")) or "").lower(),
                "reason": clean(said.get("reason")),
            }
            return Check(name, "http", status, detail, latency, facts)
        return Check(name, "http", "fail", last, None)

    try:
        return list(
            await asyncio.gather(
                *(one(clients[i % shards], n, u) for i, (n, u) in enumerate(targets))
            )
        )
    finally:
        for client in clients:
            await client.aclose()


def probe(
    targets: list[tuple[str, str]],
    *,
    timeout_s: float = 5.0,
    concurrency: int = 100,
    retries: int = 1,
) -> list[Check]:
    """Probe (name, url) pairs concurrently; each gets a timeout and `retries` retries."""
    if not targets:
        return []
    return asyncio.run(_probe_all(targets, timeout_s, max(1, concurrency), retries))
