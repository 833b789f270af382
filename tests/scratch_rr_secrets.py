"""Re-review scratch: env credentials in exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cli

SECRET = "pd-SECRET-123456"

CASES = {
    "bearer-header": (
        {"vars": {"pd_token": SECRET}},
        {
            "name": "s",
            "http": {
                "url": "https://example.com/x",
                "headers": {"Authorization": "Bearer ${{ env.vars.pd_token }}"},
            },
        },
    ),
    "whole-var-in-aws": (
        {"vars": {"pd_token": SECRET}},
        {
            "name": "s",
            "aws": {
                "service": "ssm",
                "operation": "put_parameter",
                "params": {"Name": "/x", "Value": "${{ env.vars.pd_token }}", "Type": "String"},
            },
        },
    ),
    "userinfo-url": (
        {"health_url": "https://ops:hunter2hunter2@example.com/health"},
        {"name": "s", "http": {"url": "${{ env.health_url }}"}},
    ),
    "built-userinfo": (
        {"vars": {"pw": "hunter2hunter2"}},
        {"name": "s", "http": {"url": "https://ops:${{ env.vars.pw }}@example.com/health"}},
    ),
    "query-token-built": (
        {"vars": {"t": SECRET}},
        {"name": "s", "http": {"url": "https://example.com/h?token=${{ env.vars.t }}"}},
    ),
    "when-vars-token-key": (
        {"vars": {"token": SECRET}},
        {"name": "s", "sleep": 0, "when": "env.vars.token == 'x'"},
    ),
    "when-vars-pd_token-key": (
        {"vars": {"pd_token": SECRET}},
        {"name": "s", "sleep": 0, "when": "env.vars.pd_token == 'x'"},
    ),
    "when-vars-other-with-secret-sibling": (
        {"vars": {"mode": "on", "api_key": SECRET}},
        {"name": "s", "sleep": 0, "when": "env.vars.mode == 'on'"},
    ),
    "when-health-query-token": (
        {"health_url": "https://example.com/h?token=" + SECRET},
        {"name": "s", "sleep": 0, "when": "env.health_url != null"},
    ),
    "when-whole-env": ({}, {"name": "s", "sleep": 0, "when": "length(keys(env)) > `0`"}),
    "param-default-from-env": ({"vars": {"pd_token": SECRET}}, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_secret(cli: Cli, write_config: Any, tmp_path: Path, case: str) -> None:
    env, step = CASES[case]
    write_config("http://127.0.0.1:9", **env)
    book: dict[str, Any] = {"name": "sec", "steps": [step] if step else []}
    if step is None:
        book["parameters"] = {"k": {"type": "string", "default": "${{ env.vars.pd_token }}"}}
        book["steps"] = [
            {
                "name": "s",
                "aws": {
                    "service": "ssm",
                    "operation": "put_parameter",
                    "params": {"Name": "/x", "Value": "${{ params.k }}", "Type": "String"},
                },
            }
        ]
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(book))
    out = tmp_path / "d.json"
    r = cli("runbooks", "export", str(path), "--out", str(out))
    text = out.read_text() if out.exists() else ""
    leaked = any(s in text for s in (SECRET, "hunter2hunter2"))
    print(f"\nCASE {case}: code={r.code} leaked={leaked} err={r.err.strip()[:200]!r}")
    if leaked:
        for line in text.splitlines():
            if SECRET in line or "hunter2" in line:
                print("   ", line.strip()[:200])
