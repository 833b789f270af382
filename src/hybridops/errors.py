"""The one exception hierarchy of hybridops and its mapping to exit codes."""

from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    """Process exit codes every command shares."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    REFUSED = 3
    REMOTE_ERROR = 4
    TIMED_OUT = 5
    HANGUP = 129  # 128 + SIGHUP: the terminal went away
    INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
    TERMINATED = 143  # 128 + SIGTERM: `timeout`, CI cancellation, `kill`


class HybridOpsError(Exception):
    """Base of every expected error; carries its exit code."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class CheckFailed(HybridOpsError):
    """A check, expectation or health verdict did not hold."""


class StepFailed(HybridOpsError):
    """A runbook step failed."""


class BadInput(HybridOpsError):
    """Bad usage or input; nothing was changed."""

    exit_code = ExitCode.BAD_INPUT


class ConfigError(BadInput):
    """The configuration file or an option value is invalid."""


class ValidationError(BadInput):
    """A runbook (or its parameters) failed validation."""


class StateStoreFailed(HybridOpsError):
    """The state store could not be written (disk full, read-only, locked): exit 1."""


class StateStoreCorrupt(BadInput):
    """The state store file is damaged: exit 2, naming the file and the fix."""


class Refused(HybridOpsError):
    """A guardrail refused the action (read-only, declined, limit, lock)."""

    exit_code = ExitCode.REFUSED


class LeaseLost(Refused):
    """The run no longer holds its lock: it stops before its next change."""


class RemoteError(HybridOpsError):
    """AWS or HTTP failed after retries."""

    exit_code = ExitCode.REMOTE_ERROR


class TimedOut(HybridOpsError):
    """A wait or step ran past its deadline."""

    exit_code = ExitCode.TIMED_OUT


class Interrupted(HybridOpsError):
    """The operator interrupted the run (Ctrl-C, SIGTERM or SIGHUP)."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str, *, hint: str | None = None, signal_name: str = "SIGINT"):
        super().__init__(message, hint=hint)
        self.signal_name = signal_name
        self.exit_code = SIGNAL_EXIT_CODES.get(signal_name, ExitCode.INTERRUPTED)


SIGNAL_EXIT_CODES = {
    "SIGINT": ExitCode.INTERRUPTED,
    "SIGTERM": ExitCode.TERMINATED,
    "SIGHUP": ExitCode.HANGUP,
}


class Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, delivered the way Ctrl-C is so that every cleanup path is shared."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


CREDENTIALS_FIX = "refresh them: `aws sso login --profile NAME` (or export fresh AWS_* keys)"
EXPIRED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)


def _is_not_found(code: str | None) -> bool:
    """Whether an AWS error code says the named resource does not exist."""
    return bool(code) and (
        str(code).endswith(("NotFoundException", "NotFound")) or str(code).startswith("NoSuch")
    )


def aws_error(exc: BaseException) -> dict[str, Any]:
    """An AWS error's `Error` ({Code, Message}); empty for anything that is not one."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    return error if isinstance(error, dict) else {}


def aws_error_code(exc: BaseException) -> str | None:
    """An AWS error's code (`ThrottlingException`...); None for anything that is not one."""
    code = aws_error(exc).get("Code")
    return str(code) if code is not None else None


def translate(exc: BaseException) -> HybridOpsError:
    """Turn any exception into a HybridOpsError: the single error-to-exit-code ladder."""
    if isinstance(exc, HybridOpsError):
        return exc
    if isinstance(exc, Signalled):
        return Interrupted(f"interrupted ({exc.signal_name})", signal_name=exc.signal_name)
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted")
    module = type(exc).__module__ or ""
    name = type(exc).__name__
    # Imported by name, not by module, so that --help never pays for botocore or httpx.
    if module.startswith(("botocore", "boto3")):
        if name in {"ReadTimeoutError", "ConnectTimeoutError"}:
            return RemoteError(f"AWS request timed out: {exc}")
        if name == "ProfileNotFound":
            return ConfigError(f"AWS credentials: {exc}")
        if name in {
            "NoCredentialsError",
            "PartialCredentialsError",
            "TokenRetrievalError",
            "SSOTokenLoadError",
            "UnauthorizedSSOTokenError",
        }:
            return RemoteError(f"AWS credentials: {exc}", hint=CREDENTIALS_FIX)
        code = aws_error_code(exc)
        if code in EXPIRED_CODES:
            return RemoteError(f"AWS rejected the credentials: {exc}", hint=CREDENTIALS_FIX)
        response = getattr(exc, "response", None) or {}
        region = response.get("ResponseMetadata", {}).get("HybridopsRegion")
        if region and _is_not_found(code):
            return RemoteError(
                f"AWS error: {exc}",
                hint=f"nothing by that name in {region}: is the region right? "
                "(`region:` in the config, or --region)",
            )
        if name == "EndpointConnectionError":
            return RemoteError(
                f"AWS unreachable: {exc}",
                hint="check the network, `endpoint_url:` and that the region exists",
            )
        if name == "ParamValidationError":
            return BadInput(f"AWS parameters: {exc}")
        if name == "WaiterError":
            return TimedOut(str(exc))
        return RemoteError(f"AWS error: {exc}")
    if module.startswith(("httpx", "httpcore")):
        if "Timeout" in name:
            return RemoteError(f"HTTP timeout: {exc or name}")
        return RemoteError(f"HTTP error: {exc or name}")
    if isinstance(exc, TimeoutError):
        return TimedOut(str(exc) or "timed out")
    return HybridOpsError(f"{name}: {exc}")


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for any exception."""
    return translate(exc).exit_code
