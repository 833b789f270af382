"""Builds httpx clients whose transport passes every non-GET request through the gate."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from hybridops import __version__
from hybridops.gate import Call, Gate

if TYPE_CHECKING:
    import httpx


def _gated_transport(inner: Any, gate: Gate) -> Any:
    import httpx

    class GatedTransport(httpx.BaseTransport):
        """Sends safe requests; plans or refuses mutating ones per the gate."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            method = request.method.upper()
            mutating = gate.classify_http(method)
            call = Call(
                service="http",
                operation=method,
                params={"url": str(request.url)},
                mutating=mutating,
            )
            if not gate.check(call):
                return httpx.Response(
                    202, json={"planned": True}, headers={"x-hybridops-planned": "1"}
                )
            try:
                response = inner.handle_request(request)
            except Exception as exc:
                gate.after(call, ok=False, error=f"{type(exc).__name__}: {exc}")
                raise
            gate.after(call, ok=response.status_code < 400, error=None)
            return response

        def close(self) -> None:
            inner.close()

    return GatedTransport()


class HttpClientFactory:
    """One shared httpx.Client per process run, gated, with sane timeouts."""

    def __init__(self, gate: Gate, *, timeout_s: float = 5.0, max_connections: int = 100) -> None:
        self.gate = gate
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def client(self) -> httpx.Client:
        """The shared synchronous client."""
        with self._lock:
            if self._client is None:
                import httpx

                inner = httpx.HTTPTransport(
                    retries=1,
                    limits=httpx.Limits(
                        max_connections=self.max_connections,
                        max_keepalive_connections=min(20, self.max_connections),
                    ),
                )
                self._client = httpx.Client(
                    transport=_gated_transport(inner, self.gate),
                    timeout=self.timeout_s,
                    headers={"user-agent": f"hybridops/{__version__}"},
                    follow_redirects=True,
                )
            return self._client

    def close(self) -> None:
        """Close pooled connections."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
