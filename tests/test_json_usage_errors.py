"""`-o json` is one JSON document on stdout even when the command line itself is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import Cli


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["-o", "json", "nosuchcommand"], "No such command 'nosuchcommand'"),
        (["--output=json", "run"], "Missing argument"),
        (["run", "x", "-o", "json", "--bogus"], "No such option: --bogus"),
        (["-ojson", "scale", "service", "--to", "many"], "--to"),
        (["-o", "json", "health", "--interval", "0"], "--interval"),
        (["-o", "json", "--bogus-global"], "No such option: --bogus-global"),
    ],
)
def test_usage_errors_are_one_json_document(cli: Cli, argv: list[str], needle: str) -> None:
    result = cli(*argv)
    assert result.code == 2, result.out
    doc = json.loads(result.out)  # exactly one document, nothing else on stdout
    assert doc["status"] == "error"
    assert doc["error"]["type"] == "UsageError"
    assert doc["error"]["exit_code"] == 2
    assert needle in doc["error"]["message"]
    assert doc["error"]["hint"].startswith("see `hybridops")
    # The person still gets the one line on stderr.
    assert result.err.startswith("error: ")


def test_output_from_the_environment_counts_too(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDOPS_OUTPUT", "json")
    result = cli("nosuchcommand")
    assert result.code == 2
    assert json.loads(result.out)["status"] == "error"


def test_text_mode_usage_errors_leave_stdout_empty(cli: Cli) -> None:
    result = cli("nosuchcommand")
    assert result.code == 2
    assert result.out == ""
    assert "No such command" in result.err


def test_schema_to_a_file_still_prints_one_document(cli: Cli, tmp_path: Any) -> None:
    out = tmp_path / "schema.json"
    result = cli("-o", "json", "runbooks", "schema", "--out", str(out))
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"status": "ok", "path": str(out)}
    assert json.loads(out.read_text())["title"]
    assert cli("runbooks", "schema", "--out", str(out)).out == f"{out}\n"
