"""Tables written to a pipe or a file are whole; COLUMNS, NO_COLOR and FORCE_COLOR are honoured."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.table import Table

from hybridops.context import Terminal
from tests.support import Cli

LONG = "arn:aws:iam::123456789012:role/a-role-name-long-enough-to-be-cut-at-forty-columns"


def _table() -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("check", "status", "detail"):
        table.add_column(column)
    table.add_row("permissions", "[red]fail[/red]", f"{LONG} may not bedrock:InvokeModel")
    table.add_row("clock", "[green]pass[/green]", "0s from AWS")
    return table


def _printed(env: Terminal) -> str:
    env.console(stderr=False).print(_table())
    out = env.stdout
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def _pipe(**kwargs: Any) -> Terminal:
    return Terminal(stdout=io.StringIO(), stdout_isatty=False, **kwargs)


def test_a_table_in_a_pipe_is_whole_however_narrow_the_width() -> None:
    text = _printed(_pipe(no_color=True, width=40))
    assert text.splitlines() == [
        "check        status  detail",
        f"permissions  fail    {LONG} may not bedrock:InvokeModel",
        "clock        pass    0s from AWS",
    ]
    assert "…" not in text


def test_a_table_in_a_pipe_ignores_columns_for_its_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    text = _printed(_pipe(no_color=True))
    # `health | grep fail` finds the whole row.
    assert [line for line in text.splitlines() if "fail" in line] == [
        f"permissions  fail    {LONG} may not bedrock:InvokeModel"
    ]


def test_on_a_terminal_columns_sets_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    env = Terminal(stdout=io.StringIO(), stdout_isatty=True, no_color=True)
    console = env.console(stderr=False)
    assert console.width == 50
    text = _printed(env)
    # A terminal keeps the table inside its width (cells wrap there, as a person expects).
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 50
    assert "bedrock:InvokeModel" in text


def test_no_color_wins_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    env = Terminal(stdout=io.StringIO(), stdout_isatty=True, width=100)
    assert env.no_color is True
    assert "\x1b[" not in _printed(env)


def test_an_empty_no_color_does_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # no-color.org: "present and not an empty string".
    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    env = Terminal(stdout=io.StringIO(), stdout_isatty=True, width=100)
    assert env.no_color is False
    assert "\x1b[31mfail" in _printed(env)


def test_force_color_colours_a_pipe_and_keeps_the_table_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    env = _pipe(width=40)
    assert env.colour(stderr=False) is True
    text = _printed(env)
    assert "\x1b[31mfail\x1b[0m" in text
    assert f"{LONG} may not bedrock:InvokeModel" in text
    # Coloured, not a terminal: no cursor tricks, no live displays.
    assert env.console(stderr=False).is_terminal is False


def test_a_pipe_is_not_coloured_without_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    env = _pipe()
    assert env.colour(stderr=False) is False
    assert "\x1b[" not in _printed(env)


def _seed_audit(home: Path) -> None:
    from hybridops.state.sqlite import SqliteStore

    store = SqliteStore(home / "state.db")
    for phase, outcome in (("before", "started"), ("after", "succeeded")):
        store.append_audit(
            {
                "at": "2026-11-29T05:12:03.000000Z",
                "env": "production-eu",
                "runbook": "regional-failover",
                "step": "switch-the-primary-health-check",
                "service": "route53",
                "operation": "update_health_check",
                "region": "us-east-1",
                "params": {},
                "phase": phase,
                "outcome": outcome,
                "user": "oncall-engineer",
                "caller_arn": LONG,
                "run_id": "20261129T051203Z-abcdef",
            }
        )
    store.close()


def test_audit_into_a_pipe_keeps_every_cell_whole(cli: Cli, tmp_path: Path) -> None:
    _seed_audit(tmp_path / "home")
    result = cli("audit")
    assert result.code == 0, result.err
    rows = result.out.splitlines()
    assert rows[0].split() == ["at", "(UTC)", "outcome", "env", "runbook/step", "call", "who"]
    assert len(rows) == 3  # one line per record: nothing wrapped
    for line, outcome in zip(rows[1:], ("started", "succeeded"), strict=True):
        assert line.split() == [
            "2026-11-29",
            "05:12:03",
            outcome,
            "production-eu",
            "regional-failover/switch-the-primary-health-check",
            "route53.update_health_check",
            "oncall-engineer",
            f"({LONG})",
        ]
    assert "…" not in result.out
    assert all(line == line.rstrip() for line in rows)


def test_runbooks_list_through_a_real_pipe_has_whole_descriptions(tmp_path: Path) -> None:
    from hybridops.engine.loader import builtin_runbooks, load

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    done = subprocess.run(
        [sys.executable, "-m", "hybridops", "runbooks", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 + len(builtin_runbooks())  # a header, then one line per runbook
    for name in builtin_runbooks():
        description = load(name).runbook.description.strip().splitlines()[0]
        line = next(line for line in lines if line.startswith(name + " "))
        assert line.endswith(description), line
    assert "\x1b[" not in done.stdout


def test_runbooks_list_on_a_terminal_fits_columns() -> None:
    import pty
    import select

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridops", "runbooks", "list"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "72"},
    )
    os.close(slave)
    seen: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, f"no output: {b''.join(seen)[-500:]!r}"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command finished and closed the terminal
                break
            if not chunk:
                break
            seen.append(chunk)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        os.close(master)
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", b"".join(seen).decode())
    assert "regional-failover" in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 72
    assert "\x1b[1m" in b"".join(seen).decode()  # a terminal gets the bold header
