"""Secrets never leak: at -v/-vv, encoded, decrypted from AWS, declared on outputs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.support import Cli, MotoServer

# Spaces, slashes, plus, ampersand, quotes and non-ASCII: every encoding writes it differently.
SECRET = 'Tk9 s3cr/t+&"é-ZqX'
SESSION_SECRET = "SeSsIoN-sEcReT-kEy-0123456789"
SESSION_TOKEN = "FQoGZXIvYXdzEXAMPLEsessionTOKENvalue0123456789"
STORED_SECRET = "stored-secure-string-value-42"


def forms(value: str) -> set[str]:
    """The plain, percent-, plus- and JSON-encoded forms a leak could take."""
    return {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        quote(value, safe="!$&'()*+,;=:@/?"),  # as httpx writes a query
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def leaks(texts: list[str], home: Path, *values: str) -> list[str]:
    """Every form of every value found in the texts or in any file under home."""
    corpus = list(texts)
    for path in home.rglob("*"):
        if path.is_file():
            corpus.append(path.read_bytes().decode("utf-8", errors="replace"))
    return sorted(
        {form for value in values for form in forms(value) for text in corpus if form in text}
    )


@pytest.fixture(autouse=True)
def _quiet_logging() -> Iterator[None]:
    """-vv configures the root logger in-process: put it back for the next test."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


BOOK = """name: leaky
parameters:
  token: {type: string, secret: true}
  topic: {type: string}
steps:
  - name: post
    http:
      method: POST
      url: "${{ env.health_url }}/hook?key=${{ params.token }}&other=1"
      json: {text: "token ${{ params.token }}"}
  - name: publish
    aws:
      service: sns
      operation: publish
      params: {TopicArn: "${{ params.topic }}", Message: "token ${{ params.token }}"}
  - name: store
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /leak, Value: "${{ params.token }}", Type: SecureString, Overwrite: true}
  - name: read-back
    aws:
      service: ssm
      operation: get_parameter
      params: {Name: /stored, WithDecryption: true}
    outputs: {value: Parameter.Value}
  - name: declared
    aws: {service: ssm, operation: get_parameter, params: {Name: /plain}}
    outputs:
      plain: {path: Parameter.Value, secret: true}
      name: Parameter.Name
"""


@pytest.mark.parametrize("verbosity", ["-v", "-vv"])
def test_no_secret_in_any_byte_at_any_verbosity(
    cli: Cli,
    moto: MotoServer,
    http_server: Any,
    write_config: Any,
    write_runbook: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    verbosity: str,
) -> None:
    hook = http_server(lambda m, p, b: (200, {"ok": True}))
    topic = moto.client("sns").create_topic(Name="t")["TopicArn"]
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/stored", Value=STORED_SECRET, Type="SecureString")
    ssm.put_parameter(Name="/plain", Value="declared-secret-output-7", Type="String")
    # Real (not sandbox) credential resolution, with a session token, as SSO would give.
    write_config(moto.url, health_url=hook.url, sandbox=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SESSION_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    book = write_runbook(BOOK)
    result = cli(
        verbosity,
        "--yes",
        "-o",
        "json",
        "run",
        str(book),
        "-p",
        f"token={SECRET}",
        "-p",
        f"topic={topic}",
    )
    assert result.code == 0, result.err[-2000:]
    # The calls really carried the secret (so the test could fail) ...
    assert json.dumps(SECRET, ensure_ascii=False)[1:-1].encode() in hook.requests[0][2]
    assert quote(SECRET, safe="!$&'()*+,;=:@/?") in hook.requests[0][1]
    assert ssm.get_parameter(Name="/leak", WithDecryption=True)["Parameter"]["Value"] == SECRET
    if verbosity == "-vv":
        assert "botocore" in result.err and "httpx" in result.err  # the logs did flow
    # ... and nothing shown or kept has it, in any encoding.
    found = leaks(
        [result.out, result.err],
        tmp_path / "home",
        SECRET,
        SESSION_SECRET,
        SESSION_TOKEN,
        STORED_SECRET,
        "declared-secret-output-7",
    )
    assert found == []
    steps = {s["name"]: s for s in result.json()["steps"]}
    assert steps["read-back"]["outputs"] == {"value": "***"}
    assert steps["declared"]["outputs"] == {"plain": "***", "name": "/plain"}


def test_a_secret_output_still_reaches_later_steps(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/plain", Value="declared-secret-output-7", Type="String")
    write_config(moto.url)
    book = write_runbook(
        "name: pass-on\nsteps:\n"
        "  - name: read\n    aws: {service: ssm, operation: get_parameter, params: {Name: /plain}}\n"
        "    outputs: {v: {path: Parameter.Value, secret: true}}\n"
        "  - name: copy\n    aws: {service: ssm, operation: put_parameter,"
        ' params: {Name: /copy, Value: "${{ steps.read.outputs.v }}", Type: String}}\n'
    )
    result = cli("--yes", "-o", "json", "run", str(book))
    assert result.code == 0, result.err
    assert ssm.get_parameter(Name="/copy")["Parameter"]["Value"] == "declared-secret-output-7"
    assert "declared-secret-output-7" not in result.out


@pytest.mark.parametrize(
    "spec",
    ["{path: Parameter.Value, secret: maybe}", "{path: P, shhh: true}", "{secret: true}"],
)
def test_a_malformed_output_declaration_is_exit_2(cli: Cli, write_runbook: Any, spec: str) -> None:
    book = write_runbook(
        "name: bad\nsteps:\n  - name: read\n"
        "    aws: {service: ssm, operation: get_parameter, params: {Name: /plain}}\n"
        f"    outputs: {{v: {spec}}}\n"
    )
    result = cli("runbooks", "validate", str(book))
    assert result.code == 2
    assert "output 'v'" in result.err


LONG_SECRET = "ghp_R3alLooking0GitHubTokenValue1234567890abcd"


def test_a_long_secret_is_masked_before_a_line_is_shortened(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any
) -> None:
    """The step line is cut to fit: cut first and a secret's head would show."""
    topic = moto.client("sns").create_topic(Name="t")["TopicArn"]
    write_config(moto.url)
    book = write_runbook(
        "name: pub\nparameters:\n  s: {type: string, secret: true}\n  t: {type: string}\n"
        "steps:\n  - name: pub\n    aws: {service: sns, operation: publish,"
        ' params: {TopicArn: "${{ params.t }}", Message: "${{ params.s }}"}}\n'
    )
    for flags in (["--yes"], ["--dry-run"]):
        result = cli(*flags, "run", str(book), "-p", f"s={LONG_SECRET}", "-p", f"t={topic}")
        assert result.code == 0, result.err
        assert LONG_SECRET[:12] not in result.err + result.out


def test_secret_numbers_and_list_elements_are_masked(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    book = write_runbook(
        "name: n\nparameters:\n  pin: {type: integer, secret: true}\n"
        "  keys: {type: list, secret: true}\nsteps:\n  - name: put\n"
        "    aws: {service: ssm, operation: put_parameter, params: {Name: /k, Type: String,"
        ' Value: "${{ params.keys }} ${{ params.pin }}"}}\n'
    )
    result = cli(
        "--yes",
        "-o",
        "json",
        "run",
        str(book),
        "-p",
        "pin=987654321",
        "-p",
        "keys=[kA1zzqq, kB2zzqq]",
    )
    assert result.code == 0, result.err
    assert result.json()["params"]["pin"] == "***"
    assert leaks([result.out, result.err], tmp_path / "home", "987654321", "kA1zzqq") == []


@pytest.mark.parametrize("secret", ["sp aceZQ1|23", "it'sZQ123\"xy"])
def test_mixed_encodings_and_reprs_are_masked(
    cli: Cli,
    http_server: Any,
    write_config: Any,
    write_runbook: Any,
    tmp_path: Path,
    secret: str,
) -> None:
    """httpx encodes some characters of a URL and not others; botocore logs Python reprs."""
    hook = http_server(lambda m, p, b: (200, {}))
    write_config(health_url=hook.url)
    book = write_runbook(
        "name: h\nparameters:\n  s: {type: string, secret: true}\nsteps:\n  - name: get\n"
        '    http: {url: "${{ env.health_url }}/x?q=${{ params.s }}"}\n'
    )
    result = cli("-vv", "-o", "json", "run", str(book), "-p", f"s={secret}")
    assert result.code == 0, result.err
    assert hook.requests, "the request was sent"
    sent_path = hook.requests[0][1]
    corpus = [result.out, result.err]
    assert not any(sent_path.split("q=")[1] in text for text in corpus)
    assert leaks(corpus, tmp_path / "home", secret) == []


def test_a_rejected_command_line_reaches_the_timeline_without_its_values(
    cli: Cli, moto: MotoServer, write_config: Any, write_runbook: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    rid = cli("-o", "json", "incident", "open", "-s", "P2", "-t", "leak check").json()["id"]
    book = write_runbook(
        "name: s\nparameters:\n  token: {type: string, secret: true}\n"
        "steps:\n  - name: a\n    aws: {service: ecs, operation: list_clusters}\n"
    )
    # A misspelled name: the runbook never said the value is secret.
    assert cli("run", str(book), "-p", "toke=MisspeltS3cretValue").code == 2
    assert cli("run", "nope.yaml", "-p", "token=MissingFileS3cret").code == 2
    assert cli("run", str(book), "-p", "api_key=NamedLikeAS3cret", "-p", "token=x1").code == 2
    entries = cli("-o", "json", "incident", "timeline", rid).json()["entries"]
    commands = [e["command"] for e in entries if e["kind"] == "command"]
    assert len(commands) == 3
    assert (
        leaks(
            [json.dumps(entries)],
            tmp_path / "home",
            "MisspeltS3cretValue",
            "MissingFileS3cret",
            "NamedLikeAS3cret",
        )
        == []
    )
    assert commands[0].endswith("-p toke=***")
