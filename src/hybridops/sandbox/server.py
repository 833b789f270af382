"""The sandbox process: moto behind a WSGI overlay, the controller, two health endpoints."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hybridops.sandbox.controller import Controller
from hybridops.sandbox.health import HealthServer
from hybridops.sandbox.topology import (
    BACKUP_CLUSTER,
    CLUSTER,
    FUNCTION,
    LOG_GROUPS,
    PRIMARY,
    RECORD,
    SECONDARY,
    SERVICE,
    Estate,
    seed,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def request_label(environ: dict[str, Any]) -> str:
    """`ecs.UpdateService`-style label for a request (JSON, query or REST protocol)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = environ.get("QUERY_STRING", "")
    for part in query.split("&"):
        if part.startswith("Action="):
            return part[len("Action=") :]
    return f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"


class Overlay:
    """WSGI layer in front of moto: counts requests (issue 3 adds missing operations here)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        # Called with the operation label once moto has handled a request.
        self.after_request: Callable[[str], None] | None = None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        label = request_label(environ)
        if environ.get("REQUEST_METHOD") == "POST" and "HTTP_X_AMZ_TARGET" not in environ:
            # Query-protocol services carry Action in the form body: peek, then restore it.
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            import io

            environ["wsgi.input"] = io.BytesIO(body)
            for part in body.split(b"&"):
                if part.startswith(b"Action="):
                    label = part[len(b"Action=") :].decode()
        with self.lock:
            self.requests[label] += 1
        body = list(self.app(environ, start_response))
        if self.after_request is not None:
            self.after_request(label)
        return body


def _moto_server(host: str, port: int, overlay_box: list[Overlay]) -> Any:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    class OverlayMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            overlay = Overlay(DomainDispatcherApplication(create_backend_app))
            overlay_box.append(overlay)
            self._server = make_server(self._ip_address, self._port, overlay, True)
            self._server_ready_event.set()
            self._server.serve_forever()

    return OverlayMotoServer(ip_address=host, port=port, verbose=False)


class Sandbox:
    """The whole simulated estate in this process."""

    def __init__(self, *, rollout_s: float = 3.0, log_hours: int = 24) -> None:
        self.rollout_s = rollout_s
        self.log_hours = log_hours
        self.scenario: str | None = None
        self.estate: Estate | None = None
        self.controller = Controller(rollout_s=rollout_s)
        self._overlay_box: list[Overlay] = []
        self._moto: Any = None
        self.primary_health: HealthServer | None = None
        self.secondary_health: HealthServer | None = None

    @property
    def overlay(self) -> Overlay:
        """The request-counting WSGI layer."""
        return self._overlay_box[0]

    @property
    def endpoint_url(self) -> str:
        """The AWS endpoint of the sandbox."""
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> Sandbox:
        """Start moto, seed the estate, start the controller and health endpoints."""
        from hybridops.sandbox import require_moto

        require_moto()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")
        self._moto = _moto_server("127.0.0.1", 0, self._overlay_box)
        self._moto.start()
        self.estate = seed(self.endpoint_url, log_hours=self.log_hours)
        self.controller.start()
        # Real ECS shows the new deployment as soon as UpdateService returns.
        self.overlay.after_request = self._after_request
        self.primary_health = HealthServer(lambda c: self.health_status(PRIMARY, c))
        self.secondary_health = HealthServer(lambda c: self.health_status(SECONDARY, c))
        self.primary_health.start()
        self.secondary_health.start()
        return self

    def _after_request(self, label: str) -> None:
        if label in ("UpdateService", "CreateService", "DeleteService"):
            self.controller.tick()

    def stop(self) -> None:
        """Stop everything."""
        for server in (self.primary_health, self.secondary_health):
            if server is not None:
                server.stop()
        self.controller.stop()
        if self._moto is not None:
            self._moto.stop()

    def health_status(self, region: str, component: str | None) -> tuple[int, dict[str, Any]]:
        """What the health endpoint of a region answers, from the estate's state."""
        with self.controller.lock:
            services = [s for r, s in self.controller.services() if r == region]
        service = services[0] if services else None
        running = service.running_count if service is not None else 0
        bad = (
            service is not None and service.task_definition in self.controller.bad_task_definitions
        )
        if running == 0:
            status, reason = "unhealthy", "no running tasks"
        elif bad:
            status, reason = "unhealthy", "deployed revision fails health checks"
        else:
            status, reason = "healthy", None
        body: dict[str, Any] = {"status": status, "region": region}
        if component:
            body["component"] = component
        if reason:
            body["reason"] = reason
        return (200 if status == "healthy" else 503), body

    def environment(self) -> dict[str, Any]:
        """The `sandbox` environment settings (EnvironmentConfig fields)."""
        assert self.estate is not None
        assert self.primary_health is not None and self.secondary_health is not None
        return {
            "region": PRIMARY,
            "secondary_region": SECONDARY,
            "endpoint_url": self.endpoint_url,
            "cluster": CLUSTER,
            "service": SERVICE,
            "backup_cluster": BACKUP_CLUSTER,
            "backup_service": SERVICE,
            "target_group_arn": self.estate.target_groups[PRIMARY],
            "secondary_target_group_arn": self.estate.target_groups[SECONDARY],
            "lambda_function": FUNCTION,
            "lambda_alias": "live",
            "log_groups": LOG_GROUPS,
            "health_url": self.primary_health.url,
            "secondary_health_url": self.secondary_health.url,
            "hosted_zone_id": self.estate.hosted_zone_id,
            "record_name": RECORD,
            "primary_target": self.estate.alb_dns[PRIMARY],
            "secondary_target": self.estate.alb_dns[SECONDARY],
            "sandbox": True,
        }

    def record(self, pid: int) -> dict[str, Any]:
        """The JSON record a detached sandbox leaves for `--env sandbox`."""
        env = self.environment()
        return {
            "pid": pid,
            "endpoint_url": env["endpoint_url"],
            "health_url": env["health_url"],
            "secondary_health_url": env["secondary_health_url"],
            "scenario": self.scenario,
            "environment": env,
        }

    def write_record(self, path: Path, pid: int) -> None:
        """Atomically write the record."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.record(pid), indent=2))
        os.replace(tmp, path)
