"""Faults end cleanly: credentials missing or expired are exit 4 with the fix, throttling is
retried then named, and an unreachable endpoint is exit 4 — never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybridops.errors import translate
from tests.support import Cli, MotoServer


def test_missing_credentials_exit_4_with_the_fix(
    cli: Cli, moto: MotoServer, write_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(moto.url, sandbox=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookups
    result = cli("scale", "check")
    assert result.code == 4
    assert "Unable to locate credentials" in result.err
    assert "aws sso login --profile NAME" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("code", ["ExpiredTokenException", "ExpiredToken", "RequestExpired"])
def test_expired_credentials_are_exit_4_with_the_fix(code: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "token expired"}}, "DescribeServices")
    translated = translate(error)
    assert translated.exit_code == 4
    assert "DescribeServices" in translated.message
    assert translated.hint and "aws sso login" in translated.hint


def test_throttling_after_retries_names_the_operation() -> None:
    error = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateService"
    )
    translated = translate(error)
    assert translated.exit_code == 4 and "UpdateService" in translated.message


def test_unreachable_endpoint_is_exit_4(cli: Cli, write_config: Any) -> None:
    write_config("http://127.0.0.1:9", aws_max_attempts=1)  # nothing listens there
    result = cli("-o", "json", "scale", "check")
    assert result.code == 4, result.err
    assert "AWS unreachable: Could not connect to the endpoint URL" in result.err
    assert "hint: check the network, `endpoint_url:` and that the region exists" in result.err
    assert "Traceback" not in result.err


INTERRUPTIBLE = """name: flip
steps:
  - name: read
    aws: {service: ssm, operation: get_parameter, params: {Name: /flag}}
    outputs: {previous: Parameter.Value}
  - name: set
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /flag, Value: changed, Type: String, Overwrite: true}
    compensate:
      aws:
        service: ssm
        operation: put_parameter
        params: {Name: /flag, Value: "${{ steps.read.outputs.previous }}", Type: String, Overwrite: true}
  - name: wait-forever
    wait:
      aws: {service: ssm, operation: get_parameter, params: {Name: /flag}}
      until: {Parameter.Value: never}
      interval_s: 0.2
      timeout_s: 120
"""


@pytest.fixture
def flip(moto: MotoServer, write_config: Any, tmp_path: Path) -> tuple[Any, Path]:
    """SSM parameter /flag = original, and the runbook that changes it then waits forever."""
    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/flag", Value="original", Type="String")
    book = tmp_path / "flip.yaml"
    book.write_text(INTERRUPTIBLE)
    return ssm, book


def test_sigint_during_a_wait_after_a_change_is_undone_with_yes(
    flip: tuple[Any, Path], tmp_path: Any
) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys

    ssm, book = flip
    argv = [sys.executable, "-m", "hybridops", "--yes", "-o", "json"]
    proc = subprocess.Popen(
        [*argv, "run", str(book)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stderr is not None
    # Event-driven, no sleeping: interrupt once the progress says the wait has begun.
    for line in proc.stderr:
        if "wait-forever" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["set"]["status"] == "succeeded"
    assert steps["wait-forever"]["status"] == "interrupted"
    assert steps["set"]["compensation"]["status"] == "succeeded"
    assert ssm.get_parameter(Name="/flag")["Parameter"]["Value"] == "original"
    journal = json.loads(Path(doc["journal"]).read_text())
    assert journal["status"] == "interrupted"
    from hybridops.state.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "home" / "state.db")
    audit = [(r["step"], r["phase"], r["outcome"]) for r in store.list_audit()]
    store.close()
    assert audit == [
        ("set", "before", "started"),
        ("set", "after", "succeeded"),
        ("set:compensate", "before", "started"),
        ("set:compensate", "after", "succeeded"),
    ]


def _read_until(fd: int, needle: str, seen: list[str], timeout_s: float = 60.0) -> None:
    """Read the terminal until `needle` shows (select-driven: no sleeping)."""
    import os
    import select
    import time

    deadline = time.monotonic() + timeout_s
    while needle not in "".join(seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{needle!r} never appeared in {''.join(seen)[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            seen.append(os.read(fd, 4096).decode(errors="replace"))


@pytest.mark.parametrize("answer", ["y", "n"])
def test_sigint_on_a_terminal_asks_before_undoing(flip: tuple[Any, Path], answer: str) -> None:
    import json
    import os
    import pty
    import signal
    import subprocess
    import sys

    ssm, book = flip
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "-o", "json", "run", str(book)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**env, "TERM": "dumb"},
    )
    os.close(slave)
    seen: list[str] = []
    try:
        _read_until(master, "Proceed? [y/N]", seen)  # the change itself is confirmed first
        os.write(master, b"y\n")
        _read_until(master, "wait-forever", seen)
        proc.send_signal(signal.SIGINT)
        _read_until(master, "Undo the changes made by set? [y/N]", seen)
        os.write(master, answer.encode() + b"\n")
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 130
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    value = ssm.get_parameter(Name="/flag")["Parameter"]["Value"]
    compensation = {s["name"]: s for s in doc["steps"]}["set"].get("compensation")
    if answer == "y":
        assert compensation["status"] == "succeeded" and value == "original"
    else:
        # Left as the operator said, with the command that undoes it for later.
        assert value == "changed"
        assert compensation["status"] == "skipped"
        assert compensation["undo"].endswith(
            "--name /flag --value original --type String --overwrite"
        )


RESUMABLE = """name: three
parameters:
  health: {type: string}
steps:
  - name: create
    aws: {service: ecs, operation: create_cluster, params: {clusterName: resumed}}
    outputs: {arn: cluster.clusterArn}
  - name: check
    http: {url: "${{ params.health }}/health", timeout_s: 2}
    expect: {status: 200}
  - name: tag
    aws:
      service: ecs
      operation: tag_resource
      params: {resourceArn: "${{ steps.create.outputs.arn }}", tags: [{key: k, value: v}]}
"""


def test_resume_reuses_what_succeeded_and_runs_the_rest(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    import json

    answers = iter([503, 200, 200])
    health = http_server(lambda m, p, b: (next(answers), {"status": "x"}))
    write_config(moto.url)
    book = tmp_path / "three.yaml"
    book.write_text(RESUMABLE)
    first = cli("--yes", "-o", "json", "run", str(book), "-p", f"health={health.url}")
    assert first.code == 1
    run_id = first.json()["run_id"]
    moto.forget_requests()
    again = cli("--yes", "-o", "json", "run", str(book), "--resume", run_id)
    assert again.code == 0, again.err
    steps = {s["name"]: s for s in again.json()["steps"]}
    assert steps["create"]["status"] == "succeeded" and "reused" in steps["create"]["detail"]
    assert steps["tag"]["status"] == "succeeded"
    labels = [r.rsplit(".", 1)[-1] for r in moto.requests]
    assert "CreateCluster" not in labels and "TagResource" in labels
    ecs = moto.client("ecs")
    arn = ecs.list_clusters()["clusterArns"][0]
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]
    assert json.loads(first.out)["runbook"] == "three"
    wrong = cli("run", "service-status", "--resume", run_id)
    assert wrong.code == 2 and "was runbook 'three'" in wrong.err


def test_resume_after_a_kill_asks_about_the_change_in_flight(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import threading

    arrived, release = threading.Event(), threading.Event()
    posts: list[str] = []

    def slow(method: str, path: str, body: bytes) -> tuple[int, Any]:
        posts.append(method)
        if len(posts) == 1:  # the first POST hangs until the test is done with the process
            arrived.set()
            release.wait(30)
        return 200, {"ok": True}

    server = http_server(slow)
    write_config(moto.url)
    book = tmp_path / "notify.yaml"
    book.write_text(
        "name: notify\nsteps:\n  - name: first\n    sleep: 0\n"
        f"  - name: post\n    http: {{method: POST, url: '{server.url}/x', timeout_s: 30}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "--yes", "-o", "json", "run", str(book)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stderr is not None
    run_id = next(line for line in proc.stderr if line.startswith("run notify")).split()[-1]
    assert arrived.wait(30)
    proc.send_signal(signal.SIGKILL)  # mid-request: no outcome is ever recorded
    proc.wait(timeout=30)
    release.set()
    refused = cli("-o", "json", "run", str(book), "--resume", run_id)
    assert refused.code == 3
    assert "stopped during post" in refused.json()["error"]["message"]
    resumed = cli("--yes", "-o", "json", "run", str(book), "--resume", run_id)
    assert resumed.code == 0, resumed.out
    assert [s["status"] for s in resumed.json()["steps"]] == ["succeeded", "succeeded"]
    assert len(posts) == 2


def _raw_server(handle: Any) -> tuple[str, Any]:
    """A TCP server on 127.0.0.1 calling handle(conn, stop) per connection, each in a thread."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn, stop), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()

    def close() -> None:
        stop.set()
        listener.close()

    return f"http://127.0.0.1:{listener.getsockname()[1]}", close


def _resetting_server() -> tuple[str, Any]:
    """A TCP server that accepts and resets every connection (RST, no HTTP answer)."""
    import socket
    import struct

    def reset(conn: socket.socket, stop: Any) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    return _raw_server(reset)


def test_health_survives_slow_resetting_and_garbled_endpoints(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any
) -> None:
    import threading

    hold = threading.Event()

    def responder(method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path.endswith("/slow"):
            hold.wait(10)  # far longer than the probe's timeout
            return 200, {"status": "healthy"}
        if path.endswith("/garbled"):
            return 200, b"<html>not json</html>"
        return 200, {"status": "healthy"}

    server = http_server(responder)
    reset_url, close = _resetting_server()
    try:
        write_config(moto.url, server.url, components=["slow", "garbled", "fine"])
        result = cli("-o", "json", "health", "--timeout", "0.5")
        write_config(moto.url, reset_url, components=["any"])
        reset = cli("-o", "json", "health", "--timeout", "0.5")
    finally:
        hold.set()
        close()
    assert result.code == 1
    checks = {c["name"]: c for c in result.json()["checks"]}
    assert checks["component slow"]["status"] == "fail"
    assert "timed out after 0.5s" in checks["component slow"]["detail"]
    assert checks["component garbled"]["status"] == "warn"
    assert checks["component fine"]["status"] == "pass"
    assert reset.code == 1
    assert all(c["status"] == "fail" for c in reset.json()["checks"] if c["kind"] == "http")
    assert "Traceback" not in result.err + reset.err


def test_wrong_region_says_so(cli: Cli, moto: MotoServer, write_config: Any) -> None:
    moto.client("ecs").create_cluster(clusterName="hybrid-routing-cluster")  # eu-central-1 only
    write_config(moto.url, sandbox=False, aws_max_attempts=1)
    result = cli("--region", "us-east-1", "-o", "json", "scale", "service", "--to", "3", "--yes")
    assert result.code == 4, result.err
    import json

    hint = "nothing by that name in us-east-1: is the region right?"
    assert hint in json.loads(result.out)["error"]["hint"]
    assert f"hint: {hint}" in result.err
    assert "Traceback" not in result.err


def _trickling_server() -> tuple[str, Any]:
    """An HTTP server that answers 200 at once, then sends its body a byte per 50 ms."""
    import socket

    def trickle(conn: socket.socket, stop: Any) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            conn.sendall(b"Content-Length: 100000\r\n\r\n")
            # The stop event paces the bytes: no sleeping, and it ends at once on close().
            while not stop.wait(0.05):
                conn.sendall(b" ")
        except OSError:
            pass
        finally:
            conn.close()

    return _raw_server(trickle)


def test_a_body_that_trickles_in_times_out(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    import time

    url, close = _trickling_server()
    book = write_runbook(
        f"""name: trickle
steps:
  - name: fetch
    http: {{url: "{url}/health", timeout_s: 0.5}}
"""
    )
    try:
        write_config(moto.url, url, components=["slow-body"])
        started = time.monotonic()
        health = cli("-o", "json", "health", "--timeout", "0.5")
        health_s = time.monotonic() - started
        run = cli("-o", "json", "run", str(book))
    finally:
        close()
    checks = {c["name"]: c for c in health.json()["checks"]}
    assert health.code == 1
    assert checks["component slow-body"]["detail"] == "timed out after 0.5s"
    # Two attempts of 0.5 s each, not the 5 s the whole body would take.
    assert health_s < 4, health_s
    assert run.code == 4, run.err
    assert "timed out after 0.5s" in run.json()["error"]["message"]


def _flaky_proxy(
    upstream: str, failures: dict[str, int], status: int, code: str
) -> tuple[str, Any, Any]:
    """A proxy to moto answering with an AWS error while failures["left"] > 0."""
    import http.client
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    target = urlsplit(upstream)
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            operation = (self.headers.get("x-amz-target") or "").rpartition(".")[2]
            with lock:
                seen.append(operation)
                fail = failures["left"] > 0
                failures["left"] -= 1
            if fail:
                data = json.dumps({"__type": code, "message": "injected"}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/x-amz-json-1.1")
            else:
                conn = http.client.HTTPConnection(str(target.hostname), target.port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request("POST", self.path, body, headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                self.send_header("content-type", answer.getheader("content-type") or "")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def close() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", seen, close


LIST_CLUSTERS = """name: list
steps:
  - name: clusters
    aws: {service: ecs, operation: list_clusters}
"""


@pytest.mark.parametrize(
    ("status", "code"), [(503, "ServiceUnavailableException"), (400, "ThrottlingException")]
)
def test_a_burst_of_errors_is_retried_then_named(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any, status: int, code: str
) -> None:
    book = write_runbook(LIST_CLUSTERS)
    failures = {"left": 2}
    url, seen, close = _flaky_proxy(moto.url, failures, status, code)
    try:
        write_config(url, aws_max_attempts=3)
        survived = cli("-o", "json", "run", str(book))
        attempts_to_survive = len(seen)
        seen.clear()
        failures["left"] = 1000  # now the burst outlasts the retries
        write_config(url, aws_max_attempts=2)
        failed = cli("-o", "json", "run", str(book))
    finally:
        close()
    assert survived.code == 0, survived.err
    assert attempts_to_survive == 3  # two errors, then the answer
    assert failed.code == 4, failed.err
    assert seen == ["ListClusters", "ListClusters"]  # exactly max_attempts, then stop
    message = failed.json()["error"]["message"]
    assert code in message and "ListClusters" in message
    assert "Traceback" not in failed.err
