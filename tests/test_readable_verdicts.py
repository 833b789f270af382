"""What the on-call engineer reads is true: health after a rollback, access problems, standby."""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridops.sandbox.server import Sandbox
from tests.support import Cli, HttpServer

CLUSTER, SERVICE = "hybrid-routing-cluster", "hybrid-router-service"


def terminal(
    argv: list[str], *, columns: int = 160, until_exit_s: float = 120.0
) -> tuple[int, str]:
    """Run hybridops on a real pseudo-terminal (stdout and stderr); its code and what it showed."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
    )
    os.close(slave)
    seen: list[bytes] = []
    deadline = time.monotonic() + until_exit_s
    try:
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"still running: {b''.join(seen)[-800:]!r}"
            ready, _, _ = select.select([master], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other end closed, the command is done
                break
            if not chunk:
                break
            seen.append(chunk)
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(master)
    return code, b"".join(seen).decode(errors="replace")


def plain(text: str) -> str:
    """Terminal output without colour and cursor escapes, as a person reads it."""
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r", "", text)


def row(out: str, name: str) -> str:
    """The table row of one check."""
    return next(line for line in out.splitlines() if line.startswith(name))


def service(sandbox: Sandbox) -> dict[str, Any]:
    """The ECS service as AWS describes it."""
    ecs = sandbox.internal_client("ecs")
    return dict(ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0])


def bad_deploy_with_failure_events(sandbox: Sandbox) -> None:
    """Revision 3 deployed, and its tasks already failing health checks (events written)."""
    sandbox.break_("bad-deploy")
    sandbox.controller.tick()  # the first tick of the rollout writes a failure event
    assert any("failed container health checks" in e["message"] for e in service(sandbox)["events"])


def rollback(cli: Cli, *extra: str) -> Any:
    """`run rollback-service`, polling fast (the sandbox rolls out in 0.4 s)."""
    return cli("--yes", "-o", "json", "run", "rollback-service", "-p", "interval_s=0.05", *extra)


# -- 1. health right after a verified rollback ------------------------------------------------


def test_health_is_green_right_after_a_verified_rollback(cli: Cli, sandbox_env: Sandbox) -> None:
    bad_deploy_with_failure_events(sandbox_env)
    red = cli("health")
    assert red.code == 1
    ecs = row(red.out, "ecs service")
    assert "fail" in ecs
    assert "(hybrid-router:3) started" in ecs  # the failures belong to the bad deployment
    assert "failed container health checks" in ecs
    assert red.out.splitlines()[-2] == "unhealthy · eu-central-1"
    # Red ends with what to run: triage's first command, with its evidence.
    assert red.out.splitlines()[-1].startswith(
        "next (triage): hybridops --env sandbox run rollback-service -p to=hybrid-router:2 — "
    )

    done = rollback(cli)
    assert done.code == 0, done.err
    green = cli("health")
    assert green.code == 0, green.out
    ecs = row(green.out, "ecs service")
    assert "pass" in ecs
    assert "(hybrid-router:2) COMPLETED" in ecs
    # The replaced deployment's failures are said, not counted.
    assert "not counted: " in ecs and "failure event" in ecs
    assert green.out.splitlines()[-1] in ("healthy · eu-central-1", "degraded · eu-central-1")
    doc = cli("-o", "json", "health").json()
    check = next(c for c in doc["checks"] if c["name"] == "ecs service")
    assert check["status"] == "pass", check


def test_health_on_a_terminal_after_a_rollback_is_green(cli: Cli, sandbox_env: Sandbox) -> None:
    bad_deploy_with_failure_events(sandbox_env)
    assert rollback(cli).code == 0
    code, shown = terminal(["health"])
    text = plain(shown)
    assert code == 0, text
    assert "hybrid-router:2" in text and "COMPLETED" in text
    assert "healthy · eu-central-1" in text or "degraded · eu-central-1" in text
    assert "unhealthy" not in text


def test_a_second_rollback_does_not_go_past_the_known_good_revision(
    cli: Cli, sandbox_env: Sandbox
) -> None:
    bad_deploy_with_failure_events(sandbox_env)
    first = rollback(cli)
    assert first.code == 0, first.err
    assert service(sandbox_env)["taskDefinition"].endswith(":2")
    assert cli("health").code == 0  # green, as the engineer sees it

    again = cli("--yes", "-o", "json", "rollback")
    assert again.code == 3, again.out
    message = again.json()["error"]["message"]
    assert "hybrid-router:2 is where the last rollback landed" in message
    assert "go past" in message
    text = cli("--yes", "rollback")
    assert text.code == 3
    assert "would go past that known-good revision" in text.err
    assert "hint: if it is bad too, name the revision to go to: --to REV" in text.err
    assert service(sandbox_env)["taskDefinition"].endswith(":2")  # nothing was changed
    # Naming the revision is still possible.
    planned = cli("--yes", "-o", "json", "--dry-run", "rollback", "--to", "1").json()
    assert planned["to_task_definition"].endswith(":1")


def test_a_rollback_during_a_rollback_does_not_return_to_the_bad_revision(
    cli: Cli, sandbox_env: Sandbox
) -> None:
    bad_deploy_with_failure_events(sandbox_env)
    sandbox_env.controller.rollout_s = 60  # the rollback's deployment stays in progress
    try:
        started = cli("--yes", "-o", "json", "rollback", "--no-wait")
        assert started.code == 0, started.err
        assert service(sandbox_env)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
        again = cli("--yes", "rollback")
    finally:
        sandbox_env.controller.rollout_s = 0.4
    assert again.code == 3
    assert "a rollback to hybrid-router:2 is in progress" in again.err
    assert "back to hybrid-router:3, the revision it replaces" in again.err
    assert "hint: wait for it: `hybridops health --watch`" in again.err
    assert service(sandbox_env)["taskDefinition"].endswith(":2")


def test_a_failed_deployment_after_a_rollback_still_counts(cli: Cli, sandbox_env: Sandbox) -> None:
    bad_deploy_with_failure_events(sandbox_env)
    assert rollback(cli).code == 0
    # A new bad deployment after the good one: its failures are counted again.
    bad_deploy_with_failure_events(sandbox_env)
    red = cli("health")
    assert red.code == 1
    assert "(hybrid-router:4) started" in row(red.out, "ecs service")


# -- 2. access problems are not outages --------------------------------------------------------


@pytest.fixture
def real_account(
    shared_sandbox: Sandbox,
    write_config: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Path]:
    """A non-sandbox environment on the sandbox estate: credentials come from the AWS config."""
    import botocore.credentials

    shared_sandbox.reset()
    # The SSO token cache, ~/.aws/sso/cache: botocore resolved `~` when it was imported.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(
        botocore.credentials.SSOProvider,
        "_SSO_TOKEN_CACHE_DIR",
        str(tmp_path / ".aws" / "sso" / "cache"),
    )
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookups
    env = shared_sandbox.environment()

    def write(endpoint_url: str | None = None, **extra: Any) -> Path:
        return write_config(
            endpoint_url or env["endpoint_url"],
            health_url=env["health_url"],
            cluster=env["cluster"],
            service=env["service"],
            target_group_arn=env["target_group_arn"],
            hosted_zone_id=env["hosted_zone_id"],
            record_name=env["record_name"],
            sandbox=False,
            aws_max_attempts=1,
            **extra,
        )

    return write


SSO_START = "https://example.awsapps.com/start"


def sso_profile(tmp_path: Path, *, token_expires: str | None) -> None:
    """An SSO profile `oncall`; its cached token expired at `token_expires` (None: no token)."""
    (tmp_path / "aws-config").write_text(
        "[profile oncall]\n"
        f"sso_start_url = {SSO_START}\n"
        "sso_region = eu-central-1\n"
        "sso_account_id = 123456789012\n"
        "sso_role_name = OnCall\n"
        "region = eu-central-1\n"
    )
    if token_expires is not None:
        cache = tmp_path / ".aws" / "sso" / "cache"
        cache.mkdir(parents=True)
        key = hashlib.sha1(SSO_START.encode()).hexdigest()
        (cache / f"{key}.json").write_text(
            json.dumps(
                {
                    "startUrl": SSO_START,
                    "region": "eu-central-1",
                    "accessToken": "expired",
                    "expiresAt": token_expires,
                }
            )
        )


def assert_access_error(cli: Cli, argv: list[str], *, code: int, message: str, hint: str) -> None:
    """Text and JSON: the error and its fix, exit `code`, never a verdict."""
    text = cli(*argv)
    assert text.code == code, (text.out, text.err)
    assert text.out == ""  # no table, no verdict
    assert message in text.err
    assert f"hint: {hint}" in text.err
    assert "unhealthy" not in text.err and "Traceback" not in text.err
    doc = cli("-o", "json", *argv)
    assert doc.code == code
    parsed = doc.json()  # exactly one JSON document
    assert parsed["status"] == "error"
    assert parsed["error"]["exit_code"] == code
    assert message in parsed["error"]["message"]
    assert hint in parsed["error"]["hint"]
    assert "checks" not in parsed


def test_no_credentials_is_exit_4_not_unhealthy(
    cli: Cli, real_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_account()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    for argv in (["health"], ["health", "--deep"], ["failover", "status"], ["scale", "check"]):
        assert_access_error(
            cli,
            argv,
            code=4,
            message="AWS credentials: Unable to locate credentials",
            hint="no profile in use: `aws sso login --profile NAME`",
        )


@pytest.mark.parametrize(
    ("token_expires", "message"),
    [
        ("2020-01-01T00:00:00Z", "The SSO session associated with this profile has expired"),
        (None, "Error loading SSO Token"),
    ],
)
def test_an_expired_sso_login_names_the_profile_to_log_in_with(
    cli: Cli,
    real_account: Callable[..., Path],
    tmp_path: Path,
    token_expires: str | None,
    message: str,
) -> None:
    real_account()
    sso_profile(tmp_path, token_expires=token_expires)
    for argv in (["--profile", "oncall", "health"], ["--profile", "oncall", "scale", "check"]):
        assert_access_error(
            cli,
            argv,
            code=4,
            message=message,
            hint="refresh them: `aws sso login --profile oncall`",
        )


def test_an_expired_token_answered_by_aws_is_exit_4(
    cli: Cli,
    real_account: Callable[..., Path],
    http_server: Callable[..., HttpServer],
    tmp_path: Path,
) -> None:
    # A proxy that answers every AWS call as AWS does for an expired session token.
    def expired(method: str, path: str, body: bytes) -> tuple[int, Any]:
        if body.startswith(b"{"):  # the JSON protocol (ECS)
            return 400, {
                "__type": "ExpiredTokenException",
                "message": "The security token included in the request is expired",
            }
        return 403, (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
            b"<Message>The security token included in the request is expired</Message>"
            b"</Error><RequestId>1</RequestId></ErrorResponse>"
        )

    proxy = http_server(expired)
    real_account(proxy.url)
    (tmp_path / "aws-credentials").write_text(
        "[oncall]\naws_access_key_id = ASIAEXPIRED\naws_secret_access_key = secret\n"
        "aws_session_token = expired\n"
    )
    (tmp_path / "aws-config").write_text("[profile oncall]\nregion = eu-central-1\n")
    assert_access_error(
        cli,
        ["--profile", "oncall", "health"],
        code=4,
        message="AWS rejected the credentials",
        hint="refresh them: `aws sso login --profile oncall`",
    )
    assert proxy.requests  # AWS was asked, and said no


def test_an_unknown_profile_is_exit_2(cli: Cli, real_account: Callable[..., Path]) -> None:
    real_account()
    for argv in (["--profile", "nosuch", "health"], ["--profile", "nosuch", "failover", "status"]):
        assert_access_error(
            cli,
            argv,
            code=2,
            message="AWS profile 'nosuch' is not configured",
            hint="`aws configure list-profiles` lists the configured ones",
        )


def test_an_unreachable_endpoint_is_exit_4(cli: Cli, real_account: Callable[..., Path]) -> None:
    real_account("http://127.0.0.1:9")  # nothing listens there
    for argv in (["health"], ["failover", "status"], ["scale", "check"]):
        assert_access_error(
            cli,
            argv,
            code=4,
            message="AWS unreachable: Could not connect to the endpoint URL",
            hint="check the network, `endpoint_url:`",
        )


def test_an_access_problem_on_a_terminal_is_the_fix_not_a_verdict(
    real_account: Callable[..., Path], tmp_path: Path
) -> None:
    real_account()
    sso_profile(tmp_path, token_expires="2020-01-01T00:00:00Z")
    code, shown = terminal(["--profile", "oncall", "health"])
    text = plain(shown)
    assert code == 4, text
    assert "The SSO session associated with this profile has expired" in text
    assert "aws sso login --profile oncall" in text
    assert "unhealthy" not in text and "ecs service" not in text  # no verdict, no table


# -- 3. a cold backup is standing by, not down ---------------------------------------------------


@pytest.fixture
def estate(recorded_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox as `--env sandbox` and for the `sandbox` commands."""
    return recorded_sandbox


def test_sandbox_break_and_reset_say_standby_for_the_cold_backup(cli: Cli, estate: Sandbox) -> None:
    broken = cli("sandbox", "break", "bad-deploy")
    assert broken.code == 0
    assert broken.err.strip() == (
        "scenario bad-deploy injected: eu-central-1: unhealthy (hybrid-router:3, 2/2 running,"
        " rollout IN_PROGRESS, serving) · us-west-2: standby (desired 0)"
    )
    status = cli("sandbox", "status")
    assert "  estate           eu-central-1: unhealthy" in status.out
    assert "us-west-2: standby (desired 0)" in status.out
    doc = cli("-o", "json", "sandbox", "break", "region-outage").json()
    assert doc["standby"] == ["us-west-2"]
    reset = cli("sandbox", "reset")
    assert reset.err.strip() == (
        "sandbox reset: eu-central-1: healthy (hybrid-router:2, 2/2 running, serving)"
        " · us-west-2: standby (desired 0)"
    )


def test_failover_status_says_standby_until_the_backup_serves(cli: Cli, estate: Sandbox) -> None:
    before = cli("--env", "sandbox", "failover", "status")
    assert before.code == 0
    backup = next(line for line in before.out.splitlines() if line.startswith("  secondary"))
    assert backup.split() == ["secondary", "us-west-2", "-", "standby", "(desired", "0)"]
    assert cli("--env", "sandbox", "-o", "json", "failover", "status").json()["secondary"][
        "standby"
    ]
    estate.break_("region-outage")
    moved = cli("--env", "sandbox", "--yes", "run", "regional-failover", "-p", "interval_s=0.05")
    assert moved.code == 0, moved.err
    after = cli("--env", "sandbox", "failover", "status")
    backup = next(line for line in after.out.splitlines() if line.startswith("  secondary"))
    assert "standby" not in backup and "healthy" in backup
    assert "secondary (us-west-2)" in after.out.splitlines()[0]


# -- 5. the demo: the errors it investigates, commands that can be pasted ------------------------


def _demo_sections(text: str) -> dict[str, str]:
    """The demo's output split at its step rules (────── title ──────)."""
    import re

    sections: dict[str, str] = {}
    title = "start"
    for line in text.splitlines():
        rule = re.match(r"^─+ (.+?) ─+$", line.strip())
        if rule:
            title = rule.group(1)
            continue
        sections[title] = sections.get(title, "") + line + "\n"
    return sections


@pytest.mark.slow
def test_the_demo_on_a_terminal_shows_the_errors_and_pasteable_commands() -> None:
    # moto's state is per process: the demo's sandbox gets a process of its own.
    # 100 columns: the longest command is wider, and must still paste as one line.
    code, shown = terminal(["demo"], columns=100, until_exit_s=300)
    text = plain(shown)
    assert code == 0, text[-3000:]
    sections = _demo_sections(text)
    investigate = sections["Investigate: recent ERROR logs"]
    assert "$ hybridops --env sandbox logs search --since 10m --grep ERROR --limit 5" in investigate
    errors = [line for line in investigate.splitlines() if "upstream error" in line]
    assert 1 <= len(errors) <= 5
    assert all('"level":"ERROR"' in line for line in errors)
    declare = next(title for title in sections if title.startswith("Declare a P0 incident"))
    assert (
        "$ hybridops --env sandbox incident open --severity P0 --title"
        " 'Hybrid router down after deploy' --impact 'routing requests fail in eu-central-1'"
        " --commander on-call"
    ) in sections[declare]
    page = sections["Page: the hybrid router is down — health is red"]
    assert "unhealthy · eu-central-1" in page
    verify = sections["Verify: health is green again"]
    assert "hybrid-router:2" in verify and "COMPLETED" in verify and "unhealthy" not in verify
    last = text.strip().splitlines()
    estate_line = next(line for line in last if line.startswith("estate: "))
    assert estate_line == (
        "estate: eu-central-1: healthy (hybrid-router:2, 2/2 running, serving)"
        " · us-west-2: standby (desired 0)"
    )


@pytest.mark.slow
def test_the_demo_through_a_pipe_echoes_each_command_shell_quoted() -> None:
    import shlex

    out = subprocess.run(
        [sys.executable, "-m", "hybridops", "demo"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    echoed = [line[2:] for line in out.stderr.splitlines() if line.startswith("$ ")]
    assert len(echoed) == 10
    assert echoed[3] == "hybridops --env sandbox triage"  # the first command on a page
    for command in echoed:
        words = shlex.split(command)  # pasteable: a shell reads back the words that ran
        assert words[:3] == ["hybridops", "--env", "sandbox"]
        assert shlex.join(words) == command
    resolve = shlex.split(echoed[8])[3:]
    assert resolve == [
        "incident",
        "resolve",
        "--note",
        "rolled back to the last known-good revision",
    ]
    assert "upstream error: health check failed" in out.stdout  # the investigated errors
    assert "1. hybridops --env sandbox run rollback-service -p to=hybrid-router:2" in out.stdout
    assert "{'" not in out.stderr  # no Python reprs
    assert out.stderr.strip().splitlines()[-2].endswith("· us-west-2: standby (desired 0)")


def test_failures_after_the_current_deployment_settled_still_count() -> None:
    import datetime as dt

    from hybridops.health.verdict import ecs_check

    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)

    def at(seconds_ago: int) -> dt.datetime:
        return now - dt.timedelta(seconds=seconds_ago)

    task = "(service hybrid-router-service) (task 1) failed container health checks."

    class Ecs:
        def describe_services(self, **_: Any) -> dict[str, Any]:
            return {
                "services": [
                    {
                        "taskDefinition": "arn:aws:ecs:eu-central-1:1:task-definition/hybrid-router:2",
                        "runningCount": 2,
                        "desiredCount": 2,
                        "deployments": [
                            {
                                "id": "ecs-svc/7",
                                "status": "PRIMARY",
                                "rolloutState": "COMPLETED",
                                "taskDefinition": "arn:aws:ecs:eu-central-1:1:task-definition/hybrid-router:2",
                                "createdAt": at(300),
                            }
                        ],
                        "events": [
                            {"createdAt": at(30), "message": task},  # the running tasks flap
                            {
                                "createdAt": at(60),
                                "message": "(service x) has reached a steady state.",
                            },
                            {"createdAt": at(200), "message": task},  # while it rolled out
                            {"createdAt": at(400), "message": task},  # the replaced deployment
                        ],
                    }
                ]
            }

    check = ecs_check(Ecs(), CLUSTER, SERVICE, now)
    assert check.status == "fail"
    assert check.detail == (
        "1 failure event since deployment ecs-svc/7 (hybrid-router:2) reached a steady state"
        f" 60s ago, latest: {task}"
    )
