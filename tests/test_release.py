"""The release: one version, a changelog entry for it, and a wheel that works on its own —
installed into a fresh venv without the dev or sandbox extras."""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from hybridops import __version__

REPO = Path(__file__).resolve().parents[1]


def test_the_version_lives_in_one_place() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert not re.search(r"^version\s*=", pyproject, re.MULTILINE)
    assert '[tool.hatch.version]\npath = "src/hybridops/__init__.py"' in pyproject


def test_the_changelog_has_an_entry_for_this_version() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert re.search(
        rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M
    )


@pytest.mark.slow
def test_the_wheel_installs_and_runs_without_extras(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("hybridops-*.whl")
    assert wheel.name.startswith(f"hybridops-{__version__}-")
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    # Installed by this pip into the fresh venv (`--python`): no copy of pip in it, and no
    # byte-compiling of every dependency up front (what runs is compiled when imported).
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile",
         str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    hybridops = str(target / "bin" / "hybridops")
    home = {"HYBRIDOPS_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [hybridops, *args], capture_output=True, text=True, env=home, cwd=tmp_path, timeout=60
        )

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"hybridops {__version__}"
    listed = run("-o", "json", "runbooks", "list")
    assert listed.returncode == 0, listed.stderr
    assert "service-status" in listed.stdout
    validated = run("-o", "json", "runbooks", "validate")
    assert validated.returncode == 0, validated.stderr
    assert '"valid": true' in validated.stdout
    assert validated.stdout.count('"valid": true') == 11  # the summary and 10 runbooks
    script = run("run", "recent-errors", "--print-cli")
    assert script.returncode == 0 and script.stdout.startswith("#!/usr/bin/env bash")
    # Neither extra came along: no moto, no pytest; the sandbox says what to install.
    for module in ("moto", "pytest"):
        probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
        assert probe.returncode != 0, f"{module} was installed without its extra"
    demo = run("demo")
    assert demo.returncode == 2
    assert "pip install 'hybridops[sandbox]'" in demo.stderr
