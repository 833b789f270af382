"""The adversarial corpus: bad runbooks, bad configs and bad flag values.

Each case must end in exit 2 with a one-line message naming the file, line, field or option,
no traceback, and not one request that could change anything received by the AWS endpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hybridops.gate.classify import is_read_only
from tests.support import Cli, MotoServer

CORPUS = Path(__file__).parent / "adversarial"


def _cases(kind: str) -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in sorted((CORPUS / kind).glob("*.yaml"))]


def _expected(path: Path) -> str:
    first = path.read_text(errors="replace").splitlines()[0]
    assert first.startswith("# expect: "), path
    return first.removeprefix("# expect: ")


def _assert_clean_refusal(result: Any, moto: MotoServer, fragment: str) -> None:
    assert result.code == 2, result.err
    message = result.err.strip().splitlines()
    assert message and message[0].startswith("error: "), result.err
    assert fragment in message[0], message[0]
    assert "Traceback" not in result.err
    changing = [r for r in moto.requests if not is_read_only(r.split(" ")[0])]
    assert changing == []


@pytest.mark.parametrize("path", _cases("runbooks"))
def test_bad_runbook(cli: Cli, moto: MotoServer, write_config: Any, path: Path) -> None:
    write_config(moto.url)
    moto.forget_requests()
    result = cli("--yes", "run", str(path))
    _assert_clean_refusal(result, moto, _expected(path))
    assert str(path) in result.err.splitlines()[0]


@pytest.mark.parametrize("path", _cases("configs"))
def test_bad_config(cli: Cli, moto: MotoServer, path: Path) -> None:
    moto.forget_requests()
    result = cli("--config", str(path), "--yes", "scale", "service", "--by", "+1")
    _assert_clean_refusal(result, moto, _expected(path))


CLI_CASES = [
    (("logs", "search", "--since", "last tuesday"), "--since"),
    (("logs", "search", "--since", "10m", "--until", "2h"), "--until"),
    (("logs", "search", "--limit", "0"), "--limit"),
    (("logs", "query", "p42"), "unknown query"),
    (("logs", "query", "latency", "--engine", "quantum"), "--engine"),
    (("logs", "report", "daily", "--format", "pdf"), "--format"),
    (("incident", "open", "-s", "P7", "-t", "x"), "severity"),
    (("incident", "open", "-s", "P1", "-t", " "), "--title"),
    (("incident", "update", "INC-1", "--status", "fixed"), "--status"),
    (("incident", "show", "INC-does-not-exist"), "INC-does-not-exist"),
    (("incident", "action", "add", "INC-x", "t", "--owner", "o", "--due", "tomorrow"), "INC-x"),
    (("scale", "service", "--by", "two"), "--by"),
    (("scale", "service", "--to", "3", "--by", "+1"), "exactly one"),
    (("scale", "lambda", "--to", "-5"), "minimum"),
    (("rollback", "--timeout", "forever"), "--timeout"),
    (("failover", "--to", "moon"), "--to"),
    (("failover",), "--to"),
    (("circuit", "open", "--reason", "x", "--target", "db"), "unknown circuit"),
    (("circuit", "open"), "--reason"),
    (("health", "--concurrency", "0"), "--concurrency"),
    (("health", "no-such-component"), "no-such-component"),
    (("--region", "", "scale", "check"), "region"),
    (("run", "rollback-service", "-p", "timeout_s=forever"), "timeout_s"),
    (("run", "rollback-service", "-p", "nonsense"), "nonsense"),
    (("run", "scale-service", "-p", "to=abc"), "to"),
    (("state", "migrate", "--from", "postgres"), "sqlite"),
    (("lock", "release", "failover:prod"), "--force"),
    (("maintenance", "start", "--reason", "x", "--duration", "soon"), "--duration"),
    (("maintenance", "start"), "--reason"),
    (("maintenance", "end"), "no maintenance window is open"),
    (("logs", "report", "weekly", "--end", "someday"), "--end"),
    (("logs", "report", "monthly", "--days", "3"), "--days"),
    (("alarms", "list", "--bogus"), "--bogus"),
    (("run", "scale-service", "--print-cli", "-p", "to=abc"), "to"),
    (("runbooks", "schema", "--out", "/nonexistent/dir/x.json"), "--out"),
    (("runbooks", "docs", "--out", "/proc/hybridops-docs"), "--out"),
    (("incident", "postmortem", "INC-x", "--out", "/nonexistent/pm.md"), "INC-x"),
]


@pytest.mark.parametrize(("args", "fragment"), CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_bad_flag_values(
    cli: Cli, moto: MotoServer, write_config: Any, args: tuple[str, ...], fragment: str
) -> None:
    write_config(moto.url, "http://127.0.0.1:9")  # a health URL, so runbooks resolve
    moto.forget_requests()
    result = cli("--yes", *args)
    _assert_clean_refusal(result, moto, fragment)


def test_the_corpus_is_big_enough() -> None:
    total = len(_cases("runbooks")) + len(_cases("configs")) + len(CLI_CASES)
    assert total >= 60, total
