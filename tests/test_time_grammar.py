"""One time grammar for every --since/--until: the forms people already type."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from hybridops.errors import BadInput
from hybridops.timeparse import describe_moment, parse_duration, parse_moment
from tests.support import Cli

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 30, 1, 45, 0, tzinfo=UTC)


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Europe/Berlin (UTC+1 in November)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("10m", NOW - dt.timedelta(minutes=10)),
        ("2h30m", NOW - dt.timedelta(hours=2, minutes=30)),
        ("1d", NOW - dt.timedelta(days=1)),
        ("1w", NOW - dt.timedelta(weeks=1)),
        ("1h ago", NOW - dt.timedelta(hours=1)),
        ("5 minutes ago", NOW - dt.timedelta(minutes=5)),
        ("-10m", NOW - dt.timedelta(minutes=10)),
        ("90 min", NOW - dt.timedelta(minutes=90)),
        ("1 hour 30 minutes ago", NOW - dt.timedelta(minutes=90)),
        ("00:10 UTC", dt.datetime(2026, 11, 30, 0, 10, tzinfo=UTC)),
        # 23:40 is still to come today: it means last night.
        ("23:40 UTC", dt.datetime(2026, 11, 29, 23, 40, tzinfo=UTC)),
        ("yesterday 18:00 UTC", dt.datetime(2026, 11, 29, 18, 0, tzinfo=UTC)),
        ("2026-11-29T10:00:00Z", dt.datetime(2026, 11, 29, 10, 0, tzinfo=UTC)),
        ("2026-11-29T10:00:00+02:00", dt.datetime(2026, 11, 29, 8, 0, tzinfo=UTC)),
        ("@1764400000", dt.datetime(2025, 11, 29, 7, 6, 40, tzinfo=UTC)),
    ],
)
def test_every_form_means_what_people_mean(text: str, expected: dt.datetime) -> None:
    assert parse_moment(text, now=NOW) == expected


def test_times_without_a_zone_are_local(berlin: None) -> None:
    # 02:45 in Berlin: 23:40 local is last night, 22:40 UTC.
    assert parse_moment("23:40", now=NOW) == dt.datetime(2026, 11, 29, 22, 40, tzinfo=UTC)
    assert parse_moment("02:00", now=NOW) == dt.datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert parse_moment("2026-11-29T10:00", now=NOW) == dt.datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["garbage", "10x", "@abc", "99:99", "5 fortnights ago", ""])
def test_anything_else_is_bad_input_naming_the_grammar(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_moment(text, now=NOW, option="--since")
    assert caught.value.message.startswith(f"--since {text!r}")


def test_durations_share_the_grammar() -> None:
    assert parse_duration("90 min") == dt.timedelta(minutes=90)
    assert parse_duration("1w") == dt.timedelta(days=7)
    assert parse_duration("2h30m") == dt.timedelta(hours=2, minutes=30)


def test_output_states_the_zone() -> None:
    assert describe_moment(NOW - dt.timedelta(minutes=90), NOW) == (
        "2026-11-30 00:15:00 UTC (1h30m ago)"
    )


def test_audit_and_logs_take_the_same_forms(cli: Cli, sandbox_env: object) -> None:
    for since in ("1w", "5 minutes ago", "-10m", "@1764400000"):
        assert cli("audit", "--since", since).code == 0
    result = cli("logs", "search", "--since", "5 minutes ago", "--limit", "1")
    assert result.code == 0, result.err
    assert " UTC (5m ago) → now" in result.err
