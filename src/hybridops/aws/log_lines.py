"""One log event as a line of text (time, group/stream, message) or as a JSON Lines record."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Any

from hybridops.aws.logs import LogEvent

_LEVEL_RE = re.compile(r"\b(FATAL|CRITICAL|ERROR|WARN(?:ING)?|INFO|DEBUG|TRACE)\b")
_COLOURS = {
    "FATAL": "\x1b[1;31m",
    "CRITICAL": "\x1b[1;31m",
    "ERROR": "\x1b[31m",
    "WARN": "\x1b[33m",
    "WARNING": "\x1b[33m",
    "DEBUG": "\x1b[2m",
    "TRACE": "\x1b[2m",
}
_DIM, _RESET = "\x1b[2m", "\x1b[0m"


def parse_json(message: str) -> dict[str, Any] | None:
    """A structured log line as a dict, or None for plain text."""
    if not message.startswith("{"):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def iso_ms(timestamp_ms: int) -> str:
    """`2026-11-29T05:12:03.123Z` (the second's text is cached: events come in bursts)."""
    return f"{_second(timestamp_ms // 1000)}.{timestamp_ms % 1000:03d}Z"


def short_source(group: str, stream: str) -> str:
    """`hybrid-routing/task-a1` from `/aws/ecs/hybrid-routing` + `ecs/hybrid-router/task-a1`."""
    return f"{group.rstrip('/').rsplit('/', 1)[-1]}/{stream.rsplit('/', 1)[-1]}"


_json_string = json.encoder.encode_basestring
_json_name = functools.lru_cache(maxsize=1024)(_json_string)


def json_line(event: LogEvent) -> str:
    """The JSON Lines record: {"timestamp", "group", "stream", "message"}.

    Built by hand from json's C string encoder: this runs once per event, and json.dumps of
    a dict costs twice as much.
    """
    message = _json_string(event.message.rstrip("\n"))
    return (
        f'{{"timestamp": "{iso_ms(event.timestamp)}", "group": {_json_name(event.group)},'
        f' "stream": {_json_name(event.stream)}, "message": {message}}}'
    )


def _scalar(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class LineFormatter:
    """Text lines, with the level coloured when colour is on."""

    def __init__(self, *, colour: bool, fields: list[str] | None = None) -> None:
        self.colour = colour
        self.fields = fields or []

    def message(self, text: str) -> tuple[str, str | None]:
        """(display text, level) — JSON compacted or reduced to the chosen fields."""
        doc = parse_json(text)
        if doc is None:
            text = text.rstrip("\n")
            match = _LEVEL_RE.search(text[:200])
            return text, match.group(1) if match else None
        level = str(doc.get("level") or doc.get("severity") or "").upper() or None
        if self.fields:
            shown = " ".join(f"{k}={_scalar(doc[k])}" for k in self.fields if k in doc)
            return shown, level
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False), level

    def line(self, event: LogEvent) -> str:
        """`time source message`."""
        text, level = self.message(event.message)
        stamp, source = iso_ms(event.timestamp), short_source(event.group, event.stream)
        if not self.colour:
            return f"{stamp} {source} {text}"
        colour = _COLOURS.get(level or "", "")
        body = f"{colour}{text}{_RESET}" if colour else text
        return f"{_DIM}{stamp} {source}{_RESET} {body}"
