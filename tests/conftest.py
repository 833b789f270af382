"""Shared fixtures: dummy credentials, isolated dirs, a moto server, real HTTP servers, the CLI."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hybridops.cli.main import main
from hybridops.context import Terminal


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


class CountingApp:
    """WSGI wrapper recording every AWS request's operation label."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.labels: list[str] = []
        # label pattern (re.search) -> what AWS itself would do once such a request is served
        # (a metric alarm going red when a function is throttled, say): moto computes no such
        # consequences. REST labels are `METHOD /path`.
        self.after: dict[str, Callable[[], None]] = {}
        # DynamoDB applies a conditional write atomically; moto's threaded server does not
        # (two racers could both pass `attribute_not_exists`). Its requests are served one at a
        # time, as the real service's per-item writes are.
        self.dynamodb = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from hybridops.sandbox.server import request_label

        label = request_label(environ)
        if environ.get("REQUEST_METHOD") == "POST" and "HTTP_X_AMZ_TARGET" not in environ:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            for part in body.split(b"&"):
                if part.startswith(b"Action="):
                    label = part[len(b"Action=") :].decode()
        if not environ.get("PATH_INFO", "").startswith("/moto-api"):
            self.labels.append(label)
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            with self.dynamodb:
                served = list(self.app(environ, start_response))
        else:
            served = self.app(environ, start_response)
        for pattern, consequence in list(self.after.items()):
            if re.search(pattern, label):
                consequence()
        return served


@dataclass
class MotoServer:
    """A real moto server on 127.0.0.1 with a request log."""

    url: str
    app: CountingApp

    def reset(self) -> None:
        """Forget all AWS state and the request log."""
        import httpx

        httpx.post(f"{self.url}/moto-api/reset")
        self.app.labels.clear()
        self.app.after.clear()

    def forget_requests(self) -> None:
        """Clear the request log (after test setup)."""
        self.app.labels.clear()

    @property
    def requests(self) -> list[str]:
        """Operation labels received so far (e.g. UpdateService)."""
        return list(self.app.labels)

    def client(self, service: str, region: str = "eu-central-1") -> Any:
        """A boto3 client pointed at the server (for test setup and checks)."""
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


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
        sandbox.controller.paused = True
    _moto_session.reset()
    yield _moto_session
    # ...and a sandbox started later in this process must not find this test's resources.
    _moto_session.reset()


# -- HTTP servers -----------------------------------------------------------------------------

Responder = Callable[[str, str, bytes], tuple[int, Any]]


@dataclass
class HttpServer:
    """A real HTTP server on 127.0.0.1 answering through `responder`; records requests."""

    url: str
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)


def _start_http(responder: Responder) -> tuple[HttpServer, ThreadingHTTPServer]:
    record = HttpServer("")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            record.requests.append((self.command, self.path, body))
            status, payload = responder(self.command, self.path, body)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            # A probe that gave up (timeout) closes its end: expected in these tests, not news.
            pass

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    record.url = f"http://127.0.0.1:{server.server_address[1]}"
    return record, server


@pytest.fixture
def http_server() -> Iterator[Callable[[Responder], HttpServer]]:
    """Factory: start a real HTTP server with a responder function."""
    servers: list[ThreadingHTTPServer] = []

    def start(responder: Responder) -> HttpServer:
        record, server = _start_http(responder)
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


@dataclass
class Result:
    """What one CLI invocation produced."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as exactly one JSON document."""
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs hybridops in-process with an injected environment."""

    tty: bool = False
    answers: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)

    def __call__(self, *args: str, tty: bool | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        interactive = self.tty if tty is None else tty

        def prompt(question: str) -> str:
            self.prompts.append(question)
            if not self.answers:
                raise AssertionError(f"unexpected prompt: {question}")
            return self.answers.pop(0)

        env = Terminal(
            stdin=io.StringIO(),
            stdout=out,
            stderr=err,
            stdin_isatty=interactive,
            stdout_isatty=False,
            stderr_isatty=interactive,
            no_color=True,
            width=100,
            prompt=prompt,
        )
        code = main(list(args), env)
        return Result(code, out.getvalue(), err.getvalue())


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
def sandbox_env(shared_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The shared sandbox, reset, as `--env sandbox` for this test."""
    import os

    record = tmp_path / "sandbox.json"
    shared_sandbox.write_record(record, os.getpid())
    monkeypatch.setenv("HYBRIDOPS_SANDBOX_FILE", str(record))
    monkeypatch.setenv("HYBRIDOPS_ENV", "sandbox")
    shared_sandbox.reset()
    # Not reset after: every user of the shared sandbox resets it first (a reset costs ~0.6 s
    # of CPU, and make test has five minutes on two cores).
    yield shared_sandbox


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


def fill(directory: Path) -> None:
    """Write until the file system has not one byte left."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    assert os.statvfs(directory).f_bavail == 0
