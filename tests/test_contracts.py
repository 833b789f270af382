"""The contracts people script against: JSON Lines from `health --watch -o json`, one JSON
document on stdout with `--out`, `--dry-run` writing nothing anywhere, `--incident` checked.

Everything is real: a subprocess interrupted with SIGINT, the sandbox (moto behind its overlay,
which counts every request), a real HTTP receiver for webhooks, the SQLite state store dumped
table by table.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridops.gate.classify import is_read_only
from hybridops.state.sqlite import SqliteStore
from tests.support import Cli, HttpServer, MotoServer

VERDICTS = ("healthy", "degraded", "unhealthy")

# -- helpers -----------------------------------------------------------------------------------


def state_snapshot(home: Path) -> dict[str, Any]:
    """Every row of every table of the state db, and every file under the state dir."""
    tables: dict[str, list[str]] = {}
    db = home / "state.db"
    if db.exists():
        con = sqlite3.connect(str(db))
        try:
            names = [
                row[0]
                for row in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for name in names:
                tables[name] = sorted(repr(row) for row in con.execute(f'SELECT * FROM "{name}"'))
        finally:
            con.close()
    # WAL side files come and go with connections; they hold no state of their own.
    files = sorted(
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    )
    return {"tables": tables, "files": files}


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed between two snapshots: rows and files gone and added ({} when nothing)."""
    out: dict[str, Any] = {}
    for table in sorted(set(before["tables"]) | set(after["tables"])):
        old, new = before["tables"].get(table, []), after["tables"].get(table, [])
        if old != new:
            out[table] = {
                "gone": [r for r in old if r not in new],
                "added": [r for r in new if r not in old],
            }
    if before["files"] != after["files"]:
        out["files"] = {
            "gone": [f for f in before["files"] if f not in after["files"]],
            "added": [f for f in after["files"] if f not in before["files"]],
        }
    return out


def changing(labels: Counter[str] | list[str]) -> list[str]:
    """The AWS requests among `labels` that change something (REST ones by their method)."""
    out = []
    for label in labels:
        word = label.split(" ")[0]
        if word.isupper():  # a REST request: `POST /2015-03-31/functions/...`
            if word not in ("GET", "HEAD"):
                out.append(label)
        elif not is_read_only(word):
            out.append(label)
    return sorted(out)


def posts(server: HttpServer) -> int:
    """POSTs the receiver got."""
    return sum(1 for method, _path, _body in server.requests if method == "POST")


# -- 1. health --watch -o json: JSON Lines, Ctrl-C ends it -------------------------------------


def test_health_watch_json_is_json_lines_and_sigint_ends_it_cleanly(
    moto: MotoServer, write_config: Any, healthy_endpoint: HttpServer, tmp_path: Path
) -> None:
    write_config(moto.url, healthy_endpoint.url)
    stderr = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "-o", "json", "health", "--watch", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=tmp_path,
    )
    # A hung process must fail the test, not hang it.
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # event-driven: each round's line arrives when flushed
        second = proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        proc.kill()
        stderr.close()
    progress = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == 0, progress
    assert first.endswith("\n") and second.endswith("\n"), (first, second)
    # Nothing but whole verdict lines: no table, no partial line at the end.
    assert rest == "" or rest.endswith("\n"), rest[-200:]
    lines = [first, second, *rest.splitlines(keepends=True)]
    for line in lines:
        doc = json.loads(line)
        assert isinstance(doc, dict) and line.count("\n") == 1
        # unhealthy: moto has no ECS service; the verdict's shape is what is promised here.
        assert doc["status"] in VERDICTS
        assert {c["name"] for c in doc["checks"]} >= {"health", "cloudwatch alarms"}
        assert "at" in doc
    assert "Ctrl-C" in progress  # progress went to stderr
    assert "interrupted" not in progress


def test_a_line_is_never_cut_by_ctrl_c() -> None:
    """SIGINT arriving in the middle of writing a line is held until the line is out."""
    from hybridops.cli.render import emit_json_line
    from hybridops.context import Terminal

    class Interrupting:
        """A stream that receives SIGINT half way through every write."""

        def __init__(self) -> None:
            self.data = ""

        def write(self, text: str) -> int:
            half = len(text) // 2
            self.data += text[:half]
            os.kill(os.getpid(), signal.SIGINT)
            self.data += text[half:]
            return len(text)

        def flush(self) -> None:
            pass

    stream = Interrupting()
    env = Terminal(stdout=stream)  # type: ignore[arg-type]  # a duck-typed stream
    with pytest.raises(KeyboardInterrupt):
        emit_json_line(env, {"status": "healthy", "checks": []})
    assert stream.data == '{"status":"healthy","checks":[]}\n'
    # ... and the handler in force before is back.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- 2. --out keeps stdout's promise -----------------------------------------------------------


def test_postmortem_out_prints_one_json_document_and_writes_the_draft(
    cli: Cli, tmp_path: Path
) -> None:
    rid = cli("-o", "json", "incident", "open", "-s", "P1", "-t", "router slow").json()["id"]
    path = tmp_path / "pm.md"
    result = cli("-o", "json", "incident", "postmortem", rid, "--out", str(path))
    assert result.code == 0, result.err
    assert result.json() == {"status": "ok", "id": rid, "path": str(path), "format": "markdown"}
    assert path.read_text().startswith(f"# Post-mortem: {rid} — router slow")
    # Text mode: the path, and only the path, on stdout.
    again = tmp_path / "again.md"
    text = cli("incident", "postmortem", rid, "--out", str(again))
    assert (text.code, text.out) == (0, f"{again}\n")
    assert again.read_text() == path.read_text()
    # --format json --out: the file holds the JSON post-mortem; stdout still one document.
    as_json = tmp_path / "pm.json"
    doc = cli(
        "-o", "json", "incident", "postmortem", rid, "--format", "json", "--out", str(as_json)
    )
    assert doc.json()["path"] == str(as_json) and doc.json()["format"] == "json"
    assert json.loads(as_json.read_text())["incident"]["id"] == rid
    # Without --out nothing changes: the draft (text) or the document (-o json) on stdout.
    assert cli("incident", "postmortem", rid).out.startswith("# Post-mortem:")
    assert cli("-o", "json", "incident", "postmortem", rid).json()["incident"]["id"] == rid


def test_health_junit_keeps_stdout_one_json_document(
    cli: Cli, moto: MotoServer, write_config: Any, healthy_endpoint: HttpServer, tmp_path: Path
) -> None:
    write_config(moto.url, healthy_endpoint.url)
    report = tmp_path / "health.xml"
    result = cli("-o", "json", "health", "--junit", str(report))
    assert result.code in (0, 1), result.err
    assert result.json()["status"] in VERDICTS
    assert report.read_text().startswith("<?xml")


# -- 3. --dry-run writes nothing: state store, state dir, webhooks, AWS -------------------------


@pytest.fixture
def world(
    sandbox_env: Any,
    write_config: Any,
    http_server: Callable[..., HttpServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cli: Cli,
) -> dict[str, Any]:
    """The sandbox estate, a webhook receiver and SNS as channels, an active incident with an
    action item, and a held lock."""
    hooks = http_server(lambda method, path, body: (200, {"ok": True}))
    monkeypatch.setenv("HOOK_URL", f"{hooks.url}/hook")
    settings = sandbox_env.environment()
    settings["notify"] = {
        "webhook_url_env": "HOOK_URL",
        "sns_topic_arn": settings["vars"]["sns_topic_arn"],
    }
    write_config(**settings)
    monkeypatch.setenv("HYBRIDOPS_ENV", "test")
    opened = cli("-o", "json", "incident", "open", "-s", "P1", "-t", "router slow")
    assert opened.code == 0, opened.err
    assert opened.json()["notified"] == ["webhook", "sns"]
    rid = opened.json()["id"]
    added = cli("incident", "action", "add", rid, "alarm", "--owner", "kim", "--due", "2030-01-01")
    assert added.code == 0, added.err
    store = SqliteStore(tmp_path / "home" / "state.db")
    assert store.acquire_lock("failover:test", "gone@laptop pid 1", 600) is None
    store.close()
    return {"id": rid, "hooks": hooks, "sandbox": sandbox_env, "home": tmp_path / "home"}


DRY_RUNS: list[tuple[str, ...]] = [
    ("incident", "open", "-s", "P2", "-t", "dry run"),
    ("incident", "update", "{id}", "--status", "identified", "--note", "n", "--next-update", "30m"),
    ("incident", "note", "{id}", "a note"),
    ("incident", "escalate", "{id}", "--to", "sre-lead"),
    ("incident", "resolve", "{id}", "--note", "fixed"),
    ("incident", "open", "-s", "P2", "-t", " Router  SLOW ", "--force"),
    ("incident", "ack", "{id}"),
    ("incident", "ack"),
    ("incident", "update", "--severity", "P0", "--commander", "lee"),
    ("incident", "note", "a note on the active incident"),
    ("incident", "resolve"),
    ("incident", "notify", "{id}"),
    ("incident", "action", "add", "{id}", "more", "--owner", "kim", "--due", "2030-01-01"),
    ("incident", "action", "done", "1"),
    ("lock", "release", "failover:test", "--force"),
    ("maintenance", "start", "--reason", "db upgrade"),
    ("maintenance", "end"),
    ("alarms", "sync", "--prune"),
    ("circuit", "open", "--reason", "bedrock 503s"),
    ("scale", "service", "--by", "+1"),
    ("scale", "lambda", "--by", "+5"),
    ("failover", "--to", "secondary"),
    ("health",),
]


@pytest.mark.parametrize("command", DRY_RUNS, ids=[" ".join(c[:2]) for c in DRY_RUNS])
def test_dry_run_writes_nothing(cli: Cli, world: dict[str, Any], command: tuple[str, ...]) -> None:
    args = [word.format(id=world["id"]) for word in command]
    if command[:2] == ("maintenance", "end"):
        opened = cli("--yes", "maintenance", "start", "--reason", "setup", "--emergency")
        assert opened.code == 0, opened.err
    overlay = world["sandbox"].overlay
    before = state_snapshot(world["home"])
    hooks_before = posts(world["hooks"])
    requests_before = Counter(overlay.requests)

    text = cli("--dry-run", *args)
    assert text.code in (0, 1), text.err  # 1: e.g. a planned maintenance end found a regression
    assert text.out.strip(), text.err  # says what it would do
    as_json = cli("--dry-run", "-o", "json", *args)
    assert as_json.code == text.code, as_json.err
    doc = as_json.json()
    if command[0] == "health":
        assert doc["status"] in ("healthy", "degraded", "unhealthy")  # health only reads
    else:
        assert doc["status"] == "planned", doc

    sent = Counter(overlay.requests)
    sent.subtract(requests_before)
    assert changing(+sent) == []
    assert posts(world["hooks"]) == hooks_before
    assert differences(before, state_snapshot(world["home"])) == {}


def test_dry_run_of_incident_commands_says_what_would_happen(
    cli: Cli, world: dict[str, Any]
) -> None:
    rid = world["id"]
    opened = cli("--dry-run", "-o", "json", "incident", "open", "-s", "P0", "-t", "all down")
    doc = opened.json()
    assert (doc["action"], doc["incident"]["severity"], doc["incident"]["title"]) == (
        "open",
        "P0",
        "all down",
    )
    assert doc["notify"]["channels"] == ["webhook", "sns"]
    assert "[P0] Hybrid Routing Incident - all down" in doc["notify"]["message"]
    resolved = cli("--dry-run", "incident", "resolve", rid)
    assert resolved.out.startswith(f"dry run: would resolve {rid}")
    escalated = cli("--dry-run", "-o", "json", "incident", "escalate", rid, "--to", "lead").json()
    assert escalated["incident"]["escalations"][-1]["to"] == "lead"
    # Nothing happened, so a real command still sees the incident as it was.
    shown = cli("-o", "json", "incident", "show", rid).json()
    assert (shown["status"], shown["escalations"]) == ("investigating", [])


@pytest.fixture
def team_table(moto: MotoServer, write_config: Any, tmp_path: Path) -> dict[str, Any]:
    """A config whose state store is a DynamoDB table (not created yet) and a local history."""
    import yaml

    path = write_config(moto.url)
    config = yaml.safe_load(path.read_text())
    local = tmp_path / "local.db"
    config["state"] = {"backend": "dynamodb", "table": "hybridops-contracts", "path": str(local)}
    path.write_text(yaml.safe_dump(config))
    old = SqliteStore(local)
    old.append_audit({"at": "2026-11-28T01:00:00.000000Z", "id": "old-1"})
    old.create_incident({"id": "INC-OLD", "started_at": "2026-11-28T01:00:00Z"})
    old.add_timeline("INC-OLD", {"at": "2026-11-28T01:00:00Z", "text": "entry"})
    old.close()
    return {"table": "hybridops-contracts", "local": local}


def test_state_commands_dry_run_write_nothing_to_dynamodb(
    cli: Cli, moto: MotoServer, team_table: dict[str, Any]
) -> None:
    dynamodb = moto.client("dynamodb")
    local_before = state_snapshot(team_table["local"].parent)
    moto.forget_requests()
    init = cli("--dry-run", "-o", "json", "state", "init")
    assert init.json() == {
        "status": "planned",
        "table": team_table["table"],
        "created": False,
        "exists": False,
    }
    assert dynamodb.list_tables()["TableNames"] == []
    assert cli("--dry-run", "state", "init").out.startswith("dry run: table")
    assert changing(moto.requests) == []
    # Now for real, then plan a migration and a check against the real table.
    assert cli("-o", "json", "state", "init").json()["created"] is True
    items = dynamodb.scan(TableName=team_table["table"])["Items"]
    moto.forget_requests()
    planned = cli("--dry-run", "-o", "json", "state", "migrate").json()
    assert planned["status"] == "planned"
    assert (planned["copied"]["incidents"], planned["copied"]["timeline"]) == (1, 1)
    checked = cli("--dry-run", "-o", "json", "state", "check").json()
    assert checked["ok"] is True and checked["write_checked"] is False
    assert changing(moto.requests) == []
    assert dynamodb.scan(TableName=team_table["table"])["Items"] == items
    assert differences(local_before, state_snapshot(team_table["local"].parent)) == {}
    # The plan matches what a real migration then copies.
    copied = cli("-o", "json", "state", "migrate").json()["copied"]
    assert copied == planned["copied"]


# -- 4. --incident ID must name an incident ----------------------------------------------------


def test_check_incident_exists(tmp_path: Path) -> None:
    from hybridops.config import IncidentsConfig
    from hybridops.errors import BadInput
    from hybridops.incidents.lifecycle import check_incident_exists, open_incident

    store = SqliteStore(tmp_path / "state.db")
    rid = open_incident(store, IncidentsConfig(), severity="P2", title="x")["id"]
    assert check_incident_exists(store, rid)["id"] == rid
    with pytest.raises(BadInput, match=r"^no incident INC-NOPE: `hybridops incident list`$"):
        check_incident_exists(store, "INC-NOPE")
    store.close()


def test_unknown_incident_option_is_exit_2_and_writes_nothing(
    cli: Cli, moto: MotoServer, write_config: Any, healthy_endpoint: HttpServer, tmp_path: Path
) -> None:
    write_config(moto.url, healthy_endpoint.url)
    assert cli("incident", "open", "-s", "P2", "-t", "real one").code == 0
    home = tmp_path / "home"
    before = state_snapshot(home)
    probes = len(healthy_endpoint.requests)
    result = cli("--incident", "INC-NOPE", "health")
    assert result.code == 2, result.err
    assert result.err.splitlines() == ["error: no incident INC-NOPE: `hybridops incident list`"]
    assert len(healthy_endpoint.requests) == probes  # refused before the command ran
    as_json = cli("-o", "json", "--incident", "INC-NOPE", "health")
    assert as_json.code == 2
    assert as_json.json()["status"] == "error"
    assert differences(before, state_snapshot(home)) == {}
