"""Configuration: lookup order, precedence, and errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridops.config import Overrides, load_config, resolve_environment
from tests.support import Cli

CONFIG = """
default_env: prod
environments:
  prod:
    region: eu-central-1
    profile: ops
  staging:
    region: eu-west-1
    limits: {max_desired_count: 6}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(
        tmp_path / "xdg" / "hybridops" / "hybridops.yaml",
        "default_env: user\nenvironments: {user: {}}\n",
    )
    assert load_config().source == user
    local = write(tmp_path / "hybridops.yaml", "default_env: local\nenvironments: {local: {}}\n")
    assert load_config().source == local
    env_file = write(tmp_path / "env.yaml", "default_env: e\nenvironments: {e: {}}\n")
    monkeypatch.setenv("HYBRIDOPS_CONFIG", str(env_file))
    assert load_config().source == env_file
    flag = write(tmp_path / "flag.yaml", "default_env: f\nenvironments: {f: {}}\n")
    assert load_config(str(flag)).source == flag


def test_no_config_means_defaults_from_the_runbook_report() -> None:
    loaded = load_config()
    assert loaded.source is None
    env = resolve_environment(loaded, Overrides())
    assert env.name == "prod"
    s = env.settings
    assert (s.region, s.secondary_region) == ("eu-central-1", "us-west-2")
    assert (s.cluster, s.service) == ("hybrid-routing-cluster", "hybrid-router-service")
    assert s.backup_cluster == "hybrid-routing-cluster-backup"
    assert s.lambda_function == "hybrid-router-function"
    assert s.components == ["hybrid-router", "bedrock-client", "cache", "database"]
    assert s.limits.max_desired_count == 20


def test_precedence_flags_over_environment_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "hybridops.yaml", CONFIG)
    loaded = load_config()
    assert resolve_environment(loaded, Overrides()).settings.region == "eu-central-1"
    monkeypatch.setenv("HYBRIDOPS_ENV", "staging")
    assert resolve_environment(loaded, Overrides()).name == "staging"
    assert resolve_environment(loaded, Overrides(env="prod")).name == "prod"
    monkeypatch.setenv("HYBRIDOPS_REGION", "eu-north-1")
    assert resolve_environment(loaded, Overrides()).settings.region == "eu-north-1"
    assert resolve_environment(loaded, Overrides(region="us-east-2")).settings.region == "us-east-2"
    monkeypatch.setenv("HYBRIDOPS_PROFILE", "other")
    assert resolve_environment(loaded, Overrides(env="prod")).settings.profile == "other"
    monkeypatch.delenv("HYBRIDOPS_PROFILE")
    assert resolve_environment(loaded, Overrides(env="prod")).settings.profile == "ops"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "environments:\n  prod:\n    regoin: eu-central-1\n",
            ":3: environments.prod.regoin: Extra inputs",
        ),
        (
            "environments:\n  prod:\n    limits: {max_desired_count: lots}\n",
            ":3: environments.prod.limits.max_desired_count: Input should be a valid integer",
        ),
        (
            "state: {backend: postgres}\n",
            ":1: state.backend: Input should be 'sqlite' or 'dynamodb'",
        ),
        ("environments: [a, b]\n", ":1: environments: Input should be a valid dictionary"),
        ("default_env: [\n", "invalid YAML"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_config_errors_name_file_line_and_key(
    cli: Cli, tmp_path: Path, text: str, fragment: str
) -> None:
    path = write(tmp_path / "hybridops.yaml", text)
    result = cli("run", "service-status")
    assert result.code == 2
    assert result.err.startswith(f"error: {path}")
    assert fragment in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_missing_explicit_config_is_exit_2(cli: Cli) -> None:
    result = cli("--config", "nope.yaml", "run", "service-status")
    assert result.code == 2
    assert "--config nope.yaml: no such file" in result.err


def test_unknown_environment_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "hybridops.yaml", CONFIG)
    result = cli("--env", "qa", "run", "service-status")
    assert result.code == 2
    assert "unknown environment 'qa'" in result.err
    assert "prod, sandbox, staging" in result.err


def test_sandbox_environment_needs_a_running_sandbox(cli: Cli) -> None:
    result = cli("--env", "sandbox", "run", "service-status")
    assert result.code == 2
    assert "no sandbox is running" in result.err
    assert "hybridops sandbox up --detach" in result.err


def test_unknown_profile_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    write(
        tmp_path / "hybridops.yaml",
        "environments:\n  prod:\n    profile: does-not-exist\n    health_url: http://127.0.0.1:9\n"
        "    target_group_arn: arn:aws:elasticloadbalancing:eu-central-1:1:targetgroup/x/y\n",
    )
    result = cli("--yes", "run", "service-status")
    assert result.code == 2
    assert "does-not-exist" in result.err
