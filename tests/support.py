"""Test helpers shared by the test modules: a moto server, real HTTP servers, the CLI in-process."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from hybridops.cli.main import main
from hybridops.context import Terminal

T = TypeVar("T")


def present(value: T | None) -> T:
    """A value the test expects to be there (an incident, a lock holder): it is not None."""
    assert value is not None
    return value


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


Responder = Callable[[str, str, bytes], tuple[int, Any]]


@dataclass
class HttpServer:
    """A real HTTP server on 127.0.0.1 answering through `responder`; records requests."""

    url: str
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)


def start_http(responder: Responder) -> tuple[HttpServer, ThreadingHTTPServer]:
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


ZONE_RECORD = "api.example.com"


def failover_zone(moto: MotoServer, primary: str, secondary: str) -> tuple[str, str]:
    """A hosted zone with a PRIMARY/SECONDARY failover pair; (zone id, health check id)."""
    r53 = moto.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"]
    zone_id = zone.split("/")[-1]
    check = r53.create_health_check(
        CallerReference="hc",
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "p.example.com"},
    )["HealthCheck"]["Id"]

    def record(side: str, target: str, **extra: Any) -> dict[str, Any]:
        return {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": ZONE_RECORD,
                "Type": "CNAME",
                "SetIdentifier": side.lower(),
                "Failover": side,
                "TTL": 60,
                "ResourceRecords": [{"Value": target}],
                **extra,
            },
        }

    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                record("PRIMARY", primary, HealthCheckId=check),
                record("SECONDARY", secondary),
            ]
        },
    )
    return zone_id, check


def parameter_value(ssm: Any, name: str) -> str | None:
    """An SSM parameter's value as AWS holds it (None: there is none)."""
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def parameter_version(ssm: Any, name: str) -> int | None:
    """How often an SSM parameter was written (its version; None: never)."""
    try:
        return int(ssm.get_parameter(Name=name)["Parameter"]["Version"])
    except ssm.exceptions.ParameterNotFound:
        return None
