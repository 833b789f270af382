"""`hybridops config`: the resolved configuration and where each value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import Cli


def _rows(cli: Cli, *args: str) -> dict[str, tuple[str, str]]:
    result = cli(*args, "-o", "json", "config")
    assert result.code == 0, result.err
    return {r["name"]: (r["value"], r["source"]) for r in result.json()["settings"]}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "hybridops.yaml"
    path.write_text(
        "default_env: prod\nenvironments:\n"
        "  prod: {region: eu-west-1, profile: ops}\n"
        "  staging: {profile: ops}\n"
    )
    (tmp_path / "aws-config").write_text("[profile ops]\nregion = ap-south-1\n")
    return path


def test_each_value_says_where_it_came_from(
    cli: Cli, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(cli)
    assert rows["environment"] == ("prod", f"default_env in {config_file}")
    assert rows["config file"][0] == str(config_file)
    assert rows["region"] == ("eu-west-1", f"environments.prod in {config_file}")
    assert rows["profile"] == ("ops", f"environments.prod in {config_file}")
    assert rows["state"] == (f"sqlite {tmp_path / 'home' / 'state.db'}", "HYBRIDOPS_HOME")
    assert _rows(cli, "--region", "us-east-1")["region"] == ("us-east-1", "--region")
    monkeypatch.setenv("HYBRIDOPS_REGION", "us-east-2")
    assert _rows(cli)["region"] == ("us-east-2", "HYBRIDOPS_REGION")
    assert _rows(cli, "--env", "staging")["environment"] == ("staging", "--env")


def test_region_falls_back_to_aws_settings_when_the_environment_sets_none(
    cli: Cli, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test environment sets AWS_DEFAULT_REGION=eu-central-1.
    assert _rows(cli, "--env", "staging")["region"] == ("eu-central-1", "AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    assert _rows(cli, "--env", "staging")["region"] == ("sa-east-1", "AWS_REGION")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert _rows(cli, "--env", "staging")["region"] == (
        "ap-south-1",
        f"profile ops in {tmp_path / 'aws-config'}",
    )
    # The file's own region still wins over all of them.
    assert _rows(cli)["region"][0] == "eu-west-1"


def test_text_is_an_aligned_table_and_doctor_prints_the_same_header(
    cli: Cli, config_file: Path
) -> None:
    text = cli("config").out.splitlines()
    assert text[0].split() == ["value", "from"]
    assert text[1].split()[:2] == ["environment", "prod"]
    assert any(line.startswith("region            eu-west-1") for line in text)
    doctor = cli("doctor")
    assert doctor.out.startswith("\n".join(text[:3]))


def test_credentials_are_named_and_masked(cli: Cli, write_config: object) -> None:
    write_config(sandbox=False)  # type: ignore[operator]
    rows = _rows(cli)
    assert rows["credentials"] == ("****ting", "env")
    assert "testing" not in cli("config").out
