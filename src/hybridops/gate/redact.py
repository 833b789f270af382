"""Keep secrets out of output, journals and audit records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
SECRET_KEY_RE = re.compile(
    r"secret|token|passw|webhook|routing_?key|api_?key|authorization|credential|private_?key",
    re.IGNORECASE,
)
_URL_USERINFO_RE = re.compile(r"(https?://)[^/@\s:]+:[^/@\s]+@")
_QUERY_SECRET_RE = re.compile(
    r"([?&](?:token|key|sig|signature|secret|password|access_token|X-Amz-Signature)=)[^&\s]+",
    re.IGNORECASE,
)
_SLACK_HOOK_RE = re.compile(r"https://hooks\.slack\.com/[^\s\"']+")


class Redactor:
    """Masks known secret values, secret-looking keys and credentials inside URLs."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Remember a secret value to mask wherever it appears."""
        # Very short values would mask ordinary text; they are not credible secrets anyway.
        if value and len(value) >= 4 and value not in self._values:
            self._values.append(value)
            self._values.sort(key=len, reverse=True)

    def text(self, value: str) -> str:
        """Mask secrets inside one string."""
        for secret in self._values:
            if secret in value:
                value = value.replace(secret, MASK)
        value = _URL_USERINFO_RE.sub(rf"\1{MASK}@", value)
        value = _QUERY_SECRET_RE.sub(rf"\1{MASK}", value)
        return _SLACK_HOOK_RE.sub(f"https://hooks.slack.com/{MASK}", value)

    def __call__(self, obj: Any) -> Any:
        """Return a deep copy of obj with secrets masked."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                if isinstance(key, str) and SECRET_KEY_RE.search(key) and value not in (None, ""):
                    out[key] = MASK if not isinstance(value, (dict, list)) else self(value)
                else:
                    out[key] = self(value)
            return out
        if isinstance(obj, (list, tuple)):
            return [self(v) for v in obj]
        return obj
