"""Shared fixtures: dummy credentials, isolated dirs, a moto server, real HTTP servers, the CLI."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import Cli, CountingApp, HttpServer, MotoServer, Responder, start_http

# No test runs an instance: without this, every moto EC2 backend (each reset, each region)
# loads ~1,300 public AMIs, with a volume and a snapshot each (the sandbox sets it too).
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy AWS credentials, no real config, every file under tmp_path."""
    for key in list(__import__("os").environ):
        if key.startswith(("HYBRIDOPS_", "AWS_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("HYBRIDOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)


# -- moto server ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[MotoServer]:
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield MotoServer(f"http://127.0.0.1:{server.server_address[1]}", app)
    server.shutdown()


_SANDBOXES: list[Any] = []


@pytest.fixture
def moto(_moto_session: MotoServer) -> Iterator[MotoServer]:
    """A clean moto server for this test."""
    # moto's state is per process: a sandbox of this process would keep writing into it.
    for sandbox in _SANDBOXES:
        sandbox.controller.pause()  # returns once no tick or emission is under way
    _moto_session.reset()
    yield _moto_session
    # ...and a sandbox started later in this process must not find this test's resources.
    _moto_session.reset()


# -- HTTP servers -----------------------------------------------------------------------------


@pytest.fixture
def http_server() -> Iterator[Callable[[Responder], HttpServer]]:
    """Factory: start a real HTTP server with a responder function."""
    servers: list[ThreadingHTTPServer] = []

    def start(responder: Responder) -> HttpServer:
        record, server = start_http(responder)
        servers.append(server)
        return record

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def healthy_endpoint(http_server: Callable[[Responder], HttpServer]) -> HttpServer:
    """A health endpoint where everything is healthy."""
    return http_server(lambda method, path, body: (200, {"status": "healthy"}))


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli() -> Cli:
    """The CLI, without a terminal unless the test says so."""
    return Cli()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write hybridops.yaml in the working directory with an environment `test`."""

    def write(moto_url: str | None = None, health_url: str | None = None, **env: Any) -> Path:
        import yaml

        settings: dict[str, Any] = {"sandbox": True, "region": "eu-central-1"}
        if moto_url:
            settings["endpoint_url"] = moto_url
        if health_url:
            settings["health_url"] = health_url
        settings.update(env)
        path = tmp_path / "hybridops.yaml"
        path.write_text(yaml.safe_dump({"default_env": "test", "environments": {"test": settings}}))
        return path

    return write


@pytest.fixture
def write_runbook(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a runbook YAML file and return its path."""

    def write(text: str, name: str = "book.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


# -- the sandbox ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Any]:
    """One in-process sandbox per test process (moto's state is per process)."""
    from hybridops.sandbox.server import Sandbox

    sandbox = Sandbox(rollout_s=0.4, log_hours=1).start()
    assert sandbox.overlay is not None
    sandbox.overlay.pc_ready_s = 0.3
    _SANDBOXES.append(sandbox)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def recorded_sandbox(
    shared_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The shared sandbox, reset, as the one `--env sandbox` and the `sandbox` commands find."""
    record = tmp_path / "sandbox.json"
    shared_sandbox.write_record(record, os.getpid())
    monkeypatch.setenv("HYBRIDOPS_SANDBOX_FILE", str(record))
    shared_sandbox.reset()
    # Not reset after: every user of the shared sandbox resets it first (a reset costs ~0.35 s
    # of CPU, and make test has five minutes on two cores).
    yield shared_sandbox


@pytest.fixture
def sandbox_env(recorded_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The shared sandbox, reset, as `--env sandbox` for this test."""
    monkeypatch.setenv("HYBRIDOPS_ENV", "sandbox")
    return recorded_sandbox


# -- a real small file system -----------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 1 MB tmpfs as HYBRIDOPS_HOME (a fresh store with its WAL takes ~200 KB)."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root/CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    monkeypatch.setenv("HYBRIDOPS_HOME", str(mount_point / "home"))
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long end-to-end tests (marked slow) first: on four workers they overlap the rest
    instead of being what the suite waits for at its end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
