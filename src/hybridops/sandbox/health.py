"""The sandbox health endpoint: real HTTP servers answering from the estate's state."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

StatusSource = Callable[[str | None], tuple[int, dict[str, Any]]]


class HealthServer:
    """Serves /health and /health/component/NAME on 127.0.0.1 from a status source."""

    def __init__(
        self,
        source: StatusSource,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_request: Callable[[str, str], None] | None = None,
    ) -> None:
        self.source = source

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                if on_request is not None:  # a drill times detection from the first probe
                    on_request(path, self.headers.get("user-agent", ""))
                if path == "/health":
                    status, body = source(None)
                elif path.startswith("/health/component/"):
                    status, body = source(path.rsplit("/", 1)[-1])
                else:
                    status, body = 404, {"error": "not found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the endpoint."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
