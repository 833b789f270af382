"""Hostile input: merge keys, YAML booleans, bombs in -p, huge files, secrets, out-of-range values.

Bad input always ends in exit 2 with one line naming the file:line, field or option (and with
-o json, one JSON document with status "error"); never a Python error, never a change.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hybridops.config import load_config
from hybridops.engine.models import Parameter
from hybridops.engine.parameters import coerce
from hybridops.errors import BadInput
from hybridops.gate.classify import is_read_only
from hybridops.yamlsource import parse_yaml
from tests.support import Cli, MotoServer, Result


def _refused(result: Result, fragment: str) -> str:
    """Exit 2, one error line containing `fragment` (a hint line at most), no traceback."""
    assert result.code == 2, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.err
    assert fragment in lines[0], lines[0]
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), result.err
    assert "Traceback" not in result.err
    return lines[0]


def _json_error(result: Result) -> dict[str, Any]:
    """stdout is exactly one JSON document, an error with exit code 2."""
    document = json.loads(result.out)  # raises on none, or on two documents
    assert document["status"] == "error", document
    assert document["error"]["exit_code"] == 2, document
    return document


def _nothing_changed(moto: MotoServer) -> None:
    assert [r for r in moto.requests if not is_read_only(r.split(" ")[0])] == []


# -- 1. merge keys -------------------------------------------------------------------------------

MERGED_RUNBOOK = """\
name: merged
steps:
  - &pause
    name: first
    description: a pause
    sleep: 0
  - <<: *pause
    name: second
"""


def test_a_runbook_may_override_a_merged_key(cli: Cli, write_runbook: Any) -> None:
    path = write_runbook(MERGED_RUNBOOK)
    result = cli("-o", "json", "runbooks", "validate", str(path))
    assert result.code == 0, result.err
    assert result.json()["results"][0]["valid"] is True


def test_merge_precedence_written_keys_then_the_first_source() -> None:
    data = parse_yaml(
        "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n",
        "t.yaml",
    )
    assert data["c"] == {"x": 1, "y": 3, "z": 2}
    assert data["c"].key_lines == {"x": 1, "y": 5, "z": 2}  # the line each value came from
    assert data["a"] == {"x": 1, "y": 1}  # the anchor itself is untouched


def test_a_config_may_override_a_merged_key(tmp_path: Path) -> None:
    path = tmp_path / "merged.yaml"
    path.write_text(
        "environments:\n"
        "  prod: &prod\n"
        "    region: eu-central-1\n"
        "    cluster: main\n"
        "  staging:\n"
        "    <<: *prod\n"
        "    region: eu-west-1\n"
    )
    environments = load_config(str(path)).config.environments
    assert environments["prod"].region == "eu-central-1"
    assert (environments["staging"].region, environments["staging"].cluster) == (
        "eu-west-1",
        "main",
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\nname: y\nsteps: [{name: a, sleep: 0}]\n", 2),
        ("base: &b {sleep: 0}\nname: x\nsteps:\n  - <<: *b\n    name: a\n    name: b\n", 6),
    ],
    ids=["plain", "beside-a-merge"],
)
def test_duplicate_keys_are_still_refused(
    cli: Cli, write_runbook: Any, text: str, line: int
) -> None:
    path = write_runbook(text)
    message = _refused(cli("run", str(path)), "duplicate key 'name'")
    assert f"{path}:{line}:" in message


def test_duplicate_keys_in_a_config_are_still_refused(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("environments:\n  prod:\n    region: eu-central-1\n    region: eu-west-1\n")
    message = _refused(cli("--config", str(path), "scale", "check"), "duplicate key 'region'")
    assert f"{path}:4:" in message


# -- 2. unquoted YAML booleans where a string is meant -------------------------------------------


@pytest.mark.parametrize("word", ["off", "yes", "no", "on", "true", "False", "OFF"])
def test_a_string_default_read_as_a_boolean_is_refused(
    cli: Cli, write_runbook: Any, word: str
) -> None:
    path = write_runbook(
        "name: x\nparameters:\n  mode:\n    type: string\n"
        f"    description: how\n    default: {word}\nsteps: [{{name: a, sleep: 0}}]\n"
    )
    message = _refused(cli("run", str(path)), f'quote it ("{word}")')
    assert f"{path}:6: parameters.mode.default:" in message


def test_an_enum_entry_read_as_a_boolean_is_refused_at_its_line(
    cli: Cli, write_runbook: Any
) -> None:
    path = write_runbook(
        "name: x\nparameters:\n  mode:\n    enum:\n      - fast\n      - off\n"
        "steps: [{name: a, sleep: 0}]\n"
    )
    message = _refused(cli("run", str(path)), 'quote it ("off")')
    assert f"{path}:6: parameters.mode.enum[1]:" in message


def test_quoted_and_boolean_parameters_are_fine(cli: Cli, write_runbook: Any) -> None:
    path = write_runbook(
        "name: x\nparameters:\n"
        '  mode: {type: string, default: "off", enum: ["on", "off"]}\n'
        "  flag: {type: boolean, default: yes}\n"
        "steps: [{name: a, sleep: 0}]\n"
    )
    assert cli("runbooks", "validate", str(path)).code == 0


def test_a_config_string_read_as_a_boolean_says_to_quote_it(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "no.yaml"
    path.write_text("environments:\n  prod:\n    cluster: no\n")
    message = _refused(cli("--config", str(path), "scale", "check"), 'quote it, "no"')
    assert f"{path}:3: environments.prod.cluster:" in message


# -- 3. alias bombs in -p values -----------------------------------------------------------------

BOMB = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6)
)
BOMB_LIST = "- &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"- &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6)
)
OBJECT_RUNBOOK = (
    "name: x\nparameters:\n  obj: {type: object}\n  lst: {type: list}\n"
    "steps: [{name: a, sleep: 0}]\n"
)
BOMB_REFUSAL = "expands to more than 100,000 values through aliases"


@pytest.mark.parametrize("param", ["obj", "lst"])
def test_an_alias_bomb_in_a_param_is_refused_as_in_a_file(
    cli: Cli, write_runbook: Any, param: str
) -> None:
    in_file = _refused(cli("run", str(write_runbook(BOMB, "bomb.yaml"))), BOMB_REFUSAL)
    assert "bomb.yaml:" in in_file
    value = BOMB if param == "obj" else BOMB_LIST
    result = cli("-o", "json", "run", str(write_runbook(OBJECT_RUNBOOK)), "-p", f"{param}={value}")
    _refused(result, f"parameter '{param}': invalid YAML: {BOMB_REFUSAL}")
    _json_error(result)


def test_params_still_parse_as_yaml_or_json() -> None:
    assert coerce("o", Parameter(type="object"), '{"a": [1, 2]}') == {"a": [1, 2]}
    assert coerce("l", Parameter(type="list"), "a, b") == ["a", "b"]
    assert coerce("l", Parameter(type="list"), "[1, 2]") == [1, 2]


# -- 4. size ---------------------------------------------------------------------------------------

ONE_MIB = 1024 * 1024  # the documented limit of any YAML text (yamlsource.MAX_YAML_BYTES)


def test_a_huge_runbook_is_refused_for_its_size_before_parsing(
    cli: Cli, write_runbook: Any
) -> None:
    steps = "".join(f"  - {{name: s{i}, sleep: 0}}\n" for i in range(100_000))
    path = write_runbook("name: big\nsteps:\n" + steps)
    assert path.stat().st_size > ONE_MIB
    message = _refused(cli("run", str(path)), "too large")
    assert "limit of 1 MiB" in message and "alias" not in message
    # Not even parsed: a 5 MB syntax error is refused for its size too.
    broken = write_runbook("[" * 5_000_000, "broken.yaml")
    message = _refused(cli("run", str(broken)), "too large")
    assert f"{broken}: too large: 5,000,000 bytes" in message


def test_many_values_under_the_byte_limit_are_refused_for_size_not_aliases(
    cli: Cli, write_runbook: Any
) -> None:
    path = write_runbook("name: mid\nsteps:\n" + "  - {name: s, sleep: 0}\n" * 40_000)
    assert path.stat().st_size <= ONE_MIB
    message = _refused(cli("run", str(path)), "too large: more than 100,000 values")
    assert "alias" not in message


def test_a_huge_config_is_refused_for_its_size(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("environments:\n  prod:\n    vars:\n" + "      k: v\n" * 200_000)
    message = _refused(cli("--config", str(path), "scale", "check"), f"{path}: too large")
    assert "limit of 1 MiB" in message


def test_a_huge_param_value_is_refused_for_its_size(cli: Cli, write_runbook: Any) -> None:
    value = "[" + "1," * ONE_MIB + "]"
    result = cli("run", str(write_runbook(OBJECT_RUNBOOK)), "-p", f"lst={value}")
    _refused(result, "parameter 'lst': too large")


# -- 5. secrets that fail their checks -------------------------------------------------------------

SECRET = "Hunter2-SECRET-9"
SECRET_RUNBOOK = """\
name: secrets
parameters:
  token: {type: string, secret: true, pattern: "^[a-z]+$"}
  pin: {type: integer, secret: true, maximum: 10}
  choice: {type: string, secret: true, enum: [a, b]}
  ratio: {type: number, secret: true}
  flag: {type: boolean, secret: true}
  blob: {type: object, secret: true}
steps: [{name: a, sleep: 0}]
"""


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("token", SECRET),
        ("pin", SECRET),
        ("pin", "99999931337"),
        ("choice", SECRET),
        ("ratio", SECRET),
        ("flag", SECRET),
        ("blob", f"[{SECRET}"),
        ("blob", f"{{{SECRET}: 1, {SECRET}: 2}}"),
        ("blob", f"!{SECRET} x"),
    ],
    ids=[
        "pattern",
        "integer-type",
        "maximum",
        "enum",
        "number-type",
        "boolean-type",
        "yaml",
        "yaml-duplicate",
        "yaml-tag",
    ],
)
@pytest.mark.parametrize("mode", ["text", "json", "traceback"])
def test_a_failing_secret_is_never_echoed(
    cli: Cli, write_runbook: Any, param: str, value: str, mode: str
) -> None:
    flags = {"text": [], "json": ["-o", "json"], "traceback": ["--traceback"]}[mode]
    result = cli(*flags, "run", str(write_runbook(SECRET_RUNBOOK)), "-p", f"{param}={value}")
    assert result.code == 2, result.err
    assert f"parameter '{param}'" in result.err
    assert value not in result.out + result.err
    assert SECRET not in result.out + result.err
    if mode == "json":
        _json_error(result)
    if mode == "text":
        _refused(result, f"parameter '{param}'")


def test_a_secret_default_that_fails_is_not_echoed(cli: Cli, write_runbook: Any) -> None:
    path = write_runbook(
        "name: x\nparameters:\n"
        f"  token: {{type: string, secret: true, pattern: '^[a-z]+$', default: {SECRET}}}\n"
        "steps: [{name: a, sleep: 0}]\n"
    )
    message = _refused(cli("run", str(path)), f"{path}:3: parameters.token")
    assert SECRET not in message


# -- 6. out-of-range values ------------------------------------------------------------------------

HUGE = "9" * 30
CLI_CASES = [
    (("logs", "search", "--since", "999999d"), "--since"),
    (("logs", "search", "--since", HUGE + "d"), "--since"),
    (("logs", "search", "--since", "9" * 5000 + "s"), "--since"),
    (("logs", "search", "--since", "0001-01-01"), "--since"),
    (("logs", "search", "--since", "0001-01-01T00:00+14:00"), "--since"),
    (("logs", "search", "--since", "9999-12-31T23:59:59"), "--since"),
    (("logs", "search", "--since", "9999-12-31T23:59:59-14:00"), "--since"),
    (("logs", "search", "--since", "1969-12-31T23:59:59Z"), "--since"),
    (("logs", "search", "--since", "1960-01-01"), "--since"),
    (("logs", "search", "--since", "10m", "--until", "9999-12-31T23:00-14:00"), "--until"),
    (("logs", "search", "--limit", HUGE), "--limit"),
    (("logs", "search", "-f", "--interval", "inf"), "--interval"),
    (("logs", "search", "-f", "--interval", "nan"), "--interval"),
    (("logs", "query", "latency", "--since", "999999d"), "--since"),
    (("logs", "query", "latency", "--timeout", "inf"), "--timeout"),
    (("logs", "query", "slow-requests", "--threshold-ms", "nan"), "--threshold-ms"),
    (("logs", "query", "slow-requests", "--threshold-ms", "-1"), "--threshold-ms"),
    (("logs", "report", "daily", "--since", "0001-01-01"), "--since"),
    (("logs", "report", "weekly", "--end", "9999-12-31"), "--end"),
    (("logs", "report", "monthly", "--end", "0001-01-05"), "--end"),
    (("audit", "--since", "999999d"), "--since"),
    (("audit", "--since", "0001-01-01"), "--since"),
    (("audit", "--limit", "1" + "0" * 30), "--limit"),
    (("health", "--timeout", "inf"), "--timeout"),
    (("health", "--timeout", "1e308"), "--timeout"),
    (("health", "--watch", "--interval", "inf"), "--interval"),
    (("drill", "bad-deploy", "--interval", "1e308"), "--interval"),
    (("drill", "bad-deploy", "--timeout", HUGE + "d"), "--timeout"),
    (("rollback", "--timeout", HUGE + "d"), "--timeout"),
    (("failover", "--to", "secondary", "--timeout", HUGE), "--timeout"),
    (("scale", "service", "--to", "99999999999999999999"), "--to"),
    (("scale", "lambda", "--to", HUGE), "--to"),
    (("scale", "service", "--by", "+" + HUGE), "'by'"),
    (("scale", "service", "--by", "+1", "--timeout", HUGE), "--timeout"),
    (("incident", "show", "999999999999999999999999"), "999999999999999999999999"),
    (("incident", "action", "done", HUGE), "number"),
    (("maintenance", "start", "--reason", "x", "--duration", HUGE + "d"), "--duration"),
    (("run", "scale-service", "-p", "to=1e400"), "'to'"),
    (("run", "scale-service", "-p", f"to={HUGE}"), "'to'"),
    (("run", "scale-service", "-p", "by=1", "-p", "interval_s=nan"), "interval_s"),
    (("run", "scale-service", "-p", "by=1", "-p", "interval_s=inf"), "interval_s"),
    (("--endpoint-url", "notaurl", "scale", "check"), "--endpoint-url"),
    (("--endpoint-url", "http://localhost:99999", "scale", "check"), "--endpoint-url"),
]


@pytest.mark.parametrize(
    ("args", "fragment"), CLI_CASES, ids=[" ".join(a)[:60] for a, _ in CLI_CASES]
)
def test_out_of_range_flag_values(
    cli: Cli, moto: MotoServer, write_config: Any, args: tuple[str, ...], fragment: str
) -> None:
    write_config(moto.url, "http://127.0.0.1:9")
    moto.forget_requests()
    _refused(cli("--yes", *args), fragment)
    _json_error(cli("--yes", "-o", "json", *args))
    _nothing_changed(moto)


@pytest.fixture
def west_of_utc() -> Iterator[None]:
    """Local time is UTC-12, so a naive 9999-12-31T23:59 is in year 10000 in UTC."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Etc/GMT+12"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("west_of_utc")
@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_local_time_that_overflows_in_utc_is_out_of_range(cli: Cli, option: str) -> None:
    moment = "9999-12-31T23:59:59"
    args = ("--since", "1h", "--until", moment) if option == "--until" else ("--since", moment)
    _refused(cli("logs", "search", *args), f"{option} '{moment}': out of range")


CONFIG_CASES = [
    ("endpoint_url: not a url", "endpoint_url"),
    ("endpoint_url: http://my_host:4566", "endpoint_url"),
    ("health_url: ftp://example.com", "health_url"),
    ("public_url: https://", "public_url"),
    ("http_timeout_s: 0", "http_timeout_s"),
    ("http_timeout_s: -1", "http_timeout_s"),
    ("http_timeout_s: .inf", "http_timeout_s"),
    ("aws_read_timeout_s: .nan", "aws_read_timeout_s"),
    ("aws_read_timeout_s: 1e12", "aws_read_timeout_s"),
    ("logs: {insights_timeout_s: -5}", "logs.insights_timeout_s"),
    ("logs: {daily_since: last tuesday}", "logs.daily_since"),
    ("logs: {daily_until: 0001-01-01T00:00+14:00}", "logs.daily_until"),
    ("limits: {max_desired_count: 99999999999999999999}", "limits.max_desired_count"),
    ("scaling: {cpu_minutes: 100000000000}", "scaling.cpu_minutes"),
    ("maintenance: {duration: 99999999999d}", "maintenance.duration"),
    ("maintenance: {duration: soon}", "maintenance.duration"),
    ("notify: {pagerduty_url: events}", "notify.pagerduty_url"),
]


@pytest.mark.parametrize(("line", "field"), CONFIG_CASES, ids=[c for c, _ in CONFIG_CASES])
def test_out_of_range_config_values(
    cli: Cli, moto: MotoServer, tmp_path: Path, line: str, field: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"default_env: prod\nenvironments:\n  prod:\n    sandbox: true\n    {line}\n")
    moto.forget_requests()
    _refused(cli("--config", str(path), "--yes", "scale", "service", "--by", "+1"), f"{path}:5:")
    result = cli("--config", str(path), "-o", "json", "--yes", "scale", "service", "--by", "+1")
    assert f"environments.prod.{field}" in _json_error(result)["error"]["message"]
    _nothing_changed(moto)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("state: {endpoint_url: nope}\n", ":1: state.endpoint_url"),
        ("incidents: {status_page_url: status}\n", ":1: incidents.status_page_url"),
        (
            "incidents:\n  severities:\n    P0: {respond_min: 99999999999}\n",
            ":3: incidents.severities.P0.respond_min",
        ),
    ],
)
def test_out_of_range_top_level_config_values(
    cli: Cli, tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    _refused(cli("--config", str(path), "incident", "list"), f"{path}{where}")


@pytest.mark.parametrize("variable", ["HYBRIDOPS_ENDPOINT_URL", "AWS_ENDPOINT_URL"])
def test_a_bad_endpoint_in_the_environment_is_refused(
    cli: Cli, write_config: Any, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    write_config()
    monkeypatch.setenv(variable, "localhost:4566")
    _refused(cli("scale", "check"), variable)


def test_a_good_url_passes(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        "environments:\n  prod:\n    endpoint_url: 'http://[::1]:4566'\n"
        "    health_url: http://my_service:8080/base\n    public_url: https://api.example.com.\n"
    )
    settings = load_config(str(path)).config.environments["prod"]
    assert settings.endpoint_url == "http://[::1]:4566"
    assert settings.health_url == "http://my_service:8080/base"


def test_parse_yaml_size_limit_applies_to_text() -> None:
    with pytest.raises(BadInput, match=r"^src: too large"):
        parse_yaml("x" * (ONE_MIB + 1), "src")
