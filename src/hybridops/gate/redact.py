"""Keep secrets out of output, journals and audit records."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
# A credential named in free text (an endpoint's error reason): `token=abc`, `x-api-key: k`.
_NAMED_SECRET_RE = re.compile(
    r"(\b(?:token|api[-_]?key|x-api-key|secret|password|passwd|access[-_]?key)\s*[=:]\s*)"
    r"(?!\*\*\*)[^\s&,;'\"]{4,}",
    re.IGNORECASE,
)
# A bearer token in free text (an endpoint's error reason, a log line): `Bearer eyJ...`.
_BEARER_RE = re.compile(r"(\bBearer\s+)[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE)
# What botocore's and httpx's debug logs (-vv) carry: signed headers, session tokens.
_SIGNATURE_RE = re.compile(r"(Signature=)[0-9a-fA-F]{16,}")
# A header in a logged dict or JSON (`'Authorization': b'AWS4-HMAC-SHA256 ...'`): the whole value.
_TOKEN_HEADER_RE = re.compile(
    r"""((?:X-Amz-Security-Token|Authorization|x-api-key)['"]\s*:\s*(?-i:b)?(['"]))"""
    r"""(?:(?!\2).)+""",
    re.IGNORECASE,
)

# Secret fields in raw response bodies (botocore logs them at -vv before anyone parsed them).
_SECRET_JSON_FIELD_RE = re.compile(
    r'("(?:SecretString|SecretBinary|Plaintext|SecretAccessKey|SessionToken|secretAccessKey'
    r'|sessionToken)"\s*:\s*")(?:[^"\\]|\\.)*"'
)
_SECRET_XML_FIELD_RE = re.compile(r"(<(SecretAccessKey|SessionToken)>)[^<]*(</\2>)")
_SECURE_VALUE_RE = re.compile(r'("Value"\s*:\s*")(?:[^"\\]|\\.)*"')
_SECRET_FIELD_HINTS = ("Secret", "SessionToken", "sessionToken", "Plaintext", "SecureString")


def encoded_forms(value: str) -> set[str]:
    """The ways a secret shows up once encoded: in a URL, a form body, a JSON string."""
    import json
    from urllib.parse import quote, quote_plus

    forms = {value, quote(value, safe=""), quote(value), quote_plus(value)}
    # As an HTTP client writes it into a URL query (RFC 3986 leaves sub-delimiters as they are).
    forms.add(quote(value, safe="!$&'()*+,;=:@/?"))
    forms.add(json.dumps(value)[1:-1])  # JSON-escaped: quotes, backslashes, control characters
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(repr(value)[1:-1])  # inside a logged Python dict (botocore's -vv lines)
    return forms


# Responses that carry secret values: masked wherever they are shown, undeclared.
# Calls whose answers are secret by nature: their raw bodies are never logged.
SECRET_BEARING = {
    ("secretsmanager", "get_secret_value"),
    ("sts", "assume_role"),
    ("sts", "get_session_token"),
    ("sts", "get_federation_token"),
    ("kms", "decrypt"),
    ("kms", "generate_data_key"),
    ("kms", "generate_random"),
    ("sso", "get_role_credentials"),
}


def bears_secrets(service: str, operation: str, params: Any) -> bool:
    """Whether a call's response carries secrets (so its raw body stays out of the logs)."""
    decrypted = isinstance(params, dict) and bool(params.get("WithDecryption"))
    return (service, operation) in SECRET_BEARING or (service == "ssm" and decrypted)


def response_secrets(service: str, operation: str, params: Any, parsed: Any) -> list[str]:
    """Secret values in an AWS response (decrypted parameters, secrets, credentials)."""
    if not isinstance(parsed, dict):
        return []
    found: list[str] = []
    decrypted = isinstance(params, dict) and bool(params.get("WithDecryption"))
    if service == "ssm":
        items = [parsed.get("Parameter"), *(parsed.get("Parameters") or [])]
        for item in items:
            if isinstance(item, dict) and (decrypted or item.get("Type") == "SecureString"):
                found.append(str(item.get("Value") or ""))
    elif service == "secretsmanager":
        found.extend(str(parsed.get(k) or "") for k in ("SecretString", "SecretBinary"))
    elif service == "kms" and operation in ("decrypt", "generate_data_key", "generate_random"):
        found.append(str(parsed.get("Plaintext") or ""))
    credentials = parsed.get("Credentials")
    if isinstance(credentials, dict):
        found.extend(
            str(credentials.get(k) or "")
            for k in ("SecretAccessKey", "SessionToken", "secretAccessKey", "sessionToken")
        )
    return [value for value in found if value]


class Redactor:
    """Masks known secret values, secret-looking keys and credentials inside URLs."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        self._originals: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: Any) -> None:
        """Remember a secret (every scalar inside it, and their encoded forms) to mask."""
        if isinstance(value, dict):
            for item in value.values():
                self.add(item)
            return
        if isinstance(value, (list, tuple)):
            for item in value:
                self.add(item)
            return
        if value is None or isinstance(value, bool):
            return
        text = str(value)
        # Very short values would mask ordinary text; they are not credible secrets anyway.
        if len(text) < 4:
            return
        self._originals.add(text)
        added = False
        for form in encoded_forms(text):
            if form not in self._values:
                self._values.append(form)
                added = True
        if added:
            self._values.sort(key=len, reverse=True)

    def text(self, value: str) -> str:
        """Mask secrets inside one string."""
        if "%" in value and self._originals:
            # However a client percent-encoded it (httpx leaves some characters as they are,
            # encodes others): decode, and if a secret shows, mask the decoded text.
            from urllib.parse import unquote

            decoded = unquote(value)
            if decoded != value and any(secret in decoded for secret in self._originals):
                value = decoded
        for secret in self._values:
            if secret in value:
                value = value.replace(secret, MASK)
        value = _URL_USERINFO_RE.sub(rf"\1{MASK}@", value)
        value = _QUERY_SECRET_RE.sub(rf"\1{MASK}", value)
        value = _SIGNATURE_RE.sub(rf"\1{MASK}", value)
        value = _TOKEN_HEADER_RE.sub(rf"\g<1>{MASK}", value)
        if "earer" in value or "EARER" in value:
            value = _BEARER_RE.sub(rf"\1{MASK}", value)
        value = _NAMED_SECRET_RE.sub(rf"\1{MASK}", value)
        if any(hint in value for hint in _SECRET_FIELD_HINTS):
            value = _SECRET_JSON_FIELD_RE.sub(rf'\1{MASK}"', value)
            value = _SECRET_XML_FIELD_RE.sub(rf"\1{MASK}\3", value)
            if "SecureString" in value:
                value = _SECURE_VALUE_RE.sub(rf'\1{MASK}"', value)
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
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            # A secret number (a PIN, an account id declared secret) is masked like text.
            return MASK if str(obj) in self._originals else obj
        return obj


def _carries_body(logger: str, message: str) -> bool:
    """A wire-level log record that may hold a raw request/response body."""
    if logger.startswith("botocore.parsers"):
        return True
    return logger.startswith(("botocore", "urllib3", "httpx", "httpcore")) and (
        "body" in message.lower() or "response" in message.lower()
    )


class RedactingFilter:
    """A logging filter: every record of -v/-vv passes the redactor before it is written."""

    def __init__(self, redactor: Callable[[], Redactor]) -> None:
        self.redactor = redactor

    def filter(self, record: Any) -> bool:
        """Replace the record's message with its redacted text (always keeps the record)."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: drop its arguments rather than fail
            message = str(record.msg)
        from hybridops.gate.core import withholding_bodies

        if withholding_bodies() and _carries_body(record.name, message):
            message = "(raw body withheld: this call's answer carries secrets)"
        record.msg = self.redactor().text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            import logging

            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor().text(record.exc_text)
        return True
