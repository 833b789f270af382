"""Errors that mean hybridops cannot reach AWS as anyone: never an unhealthy verdict."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from hybridops.errors import ConfigError, HybridOpsError, RemoteError, aws_error_code, translate

# botocore's credential, profile and SSO errors (by name: botocore is imported lazily).
CREDENTIAL_ERRORS = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "TokenRetrievalError",
        "SSOTokenLoadError",
        "UnauthorizedSSOTokenError",
        "SSOError",
    }
)
# AWS error codes that judge the caller's credentials, not the resource.
REJECTED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
    }
)
UNREACHABLE_ERRORS = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError"}
)


def credentials_fix(profile: str | None) -> str:
    """How to get working credentials, naming the profile in use."""
    if profile:
        return f"refresh them: `aws sso login --profile {profile}` (or export fresh AWS_* keys)"
    return (
        "no profile in use: `aws sso login --profile NAME` and pass --profile NAME"
        " (or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    )


def _missing_profile_fix(profile: str | None) -> str:
    return (
        "`aws configure list-profiles` lists the configured ones;"
        f" `aws configure sso --profile {profile or 'NAME'}` creates it"
    )


def profile_in_use(profile: str | None) -> str | None:
    """The profile botocore will use: the configured one, else AWS_PROFILE."""
    return profile or os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")


def access_error(exc: BaseException, profile: str | None = None) -> HybridOpsError | None:
    """The error to end the command with, if `exc` is about access rather than the estate."""
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    profile = profile_in_use(profile)
    if isinstance(exc, ConfigError):
        # E.g. the client factory's "profile not configured": exit 2, nothing was asked of AWS.
        if exc.hint is None and "profile" in exc.message:
            exc.hint = _missing_profile_fix(profile)
        return exc
    if not module.startswith(("botocore", "boto3")):
        return None
    error = translate(exc)
    if name == "ProfileNotFound":
        return ConfigError(error.message, hint=_missing_profile_fix(profile))
    code = aws_error_code(exc)
    if name in CREDENTIAL_ERRORS or code in REJECTED_CODES:
        message = error.message
        if code in REJECTED_CODES and not message.startswith("AWS rejected"):
            message = f"AWS rejected the credentials: {exc}"
        return RemoteError(message, hint=credentials_fix(profile))
    if name == "EndpointConnectionError":
        return error
    if name in UNREACHABLE_ERRORS:
        return RemoteError(
            f"AWS unreachable: {exc}",
            hint="check the network, `endpoint_url:` and that the region exists",
        )
    return None


def raise_access_error(exc: BaseException, profile: str | None = None) -> None:
    """Raise the access error `exc` stands for, if it is one; return otherwise."""
    error = access_error(exc, profile)
    if error is None:
        return
    if error is exc:
        raise error
    raise error from exc


@contextlib.contextmanager
def access_errors_raised(profile: str | None = None) -> Iterator[None]:
    """Let access errors end the command with their fix (exit 4, or 2 for a missing profile)."""
    try:
        yield
    except Exception as exc:
        raise_access_error(exc, profile)
        raise
