"""Faults end cleanly: credentials missing or expired are exit 4 with the fix, throttling is
retried then named, and an unreachable endpoint is exit 4 — never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybridops.errors import translate
from tests.conftest import Cli, MotoServer


def test_missing_credentials_exit_4_with_the_fix(
    cli: Cli, moto: MotoServer, write_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(moto.url, sandbox=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookups
    result = cli("scale", "check")
    assert result.code == 4
    assert "Unable to locate credentials" in result.err
    assert "aws sso login --profile NAME" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("code", ["ExpiredTokenException", "ExpiredToken", "RequestExpired"])
def test_expired_credentials_are_exit_4_with_the_fix(code: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "token expired"}}, "DescribeServices")
    translated = translate(error)
    assert translated.exit_code == 4
    assert "DescribeServices" in translated.message
    assert translated.hint and "aws sso login" in translated.hint


def test_throttling_after_retries_names_the_operation() -> None:
    error = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateService"
    )
    translated = translate(error)
    assert translated.exit_code == 4 and "UpdateService" in translated.message


def test_unreachable_endpoint_is_exit_4(cli: Cli, write_config: Any) -> None:
    write_config("http://127.0.0.1:9", aws_max_attempts=1)  # nothing listens there
    result = cli("-o", "json", "scale", "check")
    assert result.code == 4, result.err
    assert "Traceback" not in result.err
