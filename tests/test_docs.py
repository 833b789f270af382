"""Docs generated from the single sources can never drift: runbook pages, CLI reference,
JSON Schemas; shell completion of environments, runbooks and incident ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridops.engine.loader import builtin_runbooks
from tests.support import Cli

REPO = Path(__file__).resolve().parents[1]


def test_committed_runbook_pages_match_the_yaml(cli: Cli) -> None:
    result = cli("runbooks", "docs", "--check", "--out", str(REPO / "docs" / "runbooks"))
    assert result.code == 0, f"run `make docs` and commit:\n{result.err}"


def test_committed_cli_reference_and_schemas_match_the_code(cli: Cli) -> None:
    result = cli("reference", "--check", "--out", str(REPO / "docs"))
    assert result.code == 0, f"run `make docs` and commit:\n{result.err}"


def test_check_names_a_stale_page_and_a_page_no_runbook_makes(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "pages"
    assert cli("runbooks", "docs", "--out", str(out)).code == 0
    assert cli("runbooks", "docs", "--out", str(out), "--check").code == 0
    page = out / "scale-service.md"
    page.write_text(page.read_text().replace("Scale the ECS service", "Scale the service"))
    (out / "retired-runbook.md").write_text("# gone\n")
    stale = cli("-o", "json", "runbooks", "docs", "--out", str(out), "--check")
    assert stale.code == 1
    assert sorted(Path(p).name for p in stale.json()["changed"]) == [
        "retired-runbook.md",
        "scale-service.md",
    ]
    assert "Scale the service" in page.read_text()  # --check writes nothing
    assert cli("runbooks", "docs", "--out", str(out)).code == 0
    assert not (out / "retired-runbook.md").exists()
    assert cli("runbooks", "docs", "--out", str(out), "--check").code == 0


def test_a_page_says_what_the_runbook_does_in_words_and_commands() -> None:
    page = (REPO / "docs" / "runbooks" / "scale-service.md").read_text()
    assert "**Severity:** P1, P2" in page
    assert "**Use when:** CPU above 70%" in page
    assert "| `to` | integer |  | At least 0. |" in page
    assert (
        '   - undone if a later step fails: `ecs.update_service` with `{"cluster": '
        '"${{ params.cluster }}", "service": "${{ params.service }}", "desiredCount": '
        '"${{ steps.plan.outputs.from }}"}`' in page
    )
    assert "aws ecs update-service \\\n" in page
    index = (REPO / "docs" / "runbooks" / "README.md").read_text()
    for name in builtin_runbooks():
        assert f"[{name}]({name}.md)" in index


def test_shipped_runbooks_and_the_example_config_match_their_schemas() -> None:
    import jsonschema

    runbook_schema = json.loads((REPO / "docs/schemas/runbook.schema.json").read_text())
    for path in builtin_runbooks().values():
        jsonschema.validate(yaml.safe_load(path.read_text()), runbook_schema)
    config_schema = json.loads((REPO / "docs/schemas/hybridops.schema.json").read_text())
    example = yaml.safe_load((REPO / "examples/hybridops.yaml").read_text())
    jsonschema.validate(example, config_schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a typo
        jsonschema.validate({**example, "enviroments": {}}, config_schema)


def test_the_example_config_loads(cli: Cli) -> None:
    result = cli("--config", str(REPO / "examples/hybridops.yaml"), "runbooks", "list")
    assert result.code == 0, result.err


def _complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    """Ask the installed completion what TAB offers after `words` (bash protocol)."""
    parts = words.split(" ")
    result = subprocess.run(
        [sys.executable, "-m", "hybridops"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **(env or {}),
            "_HYBRIDOPS_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
        },
        check=True,
    )
    return result.stdout.split()


def test_completion_offers_environments_runbooks_and_incident_ids(
    cli: Cli, tmp_path: Path, write_config: Any
) -> None:
    write_config(None, region="eu-central-1")
    config = tmp_path / "hybridops.yaml"
    document = yaml.safe_load(config.read_text())
    document["environments"]["staging"] = {"region": "eu-west-1"}
    config.write_text(yaml.safe_dump(document))
    (tmp_path / "my-drill.yaml").write_text("name: x\n")
    assert _complete("hybridops --env s") == ["sandbox", "staging"]
    assert _complete("hybridops --env ") == ["sandbox", "staging", "test"]
    assert _complete("hybridops run scale") == ["scale-lambda", "scale-service"]
    assert "my-drill.yaml" in _complete("hybridops run my")
    opened = cli("-o", "json", "incident", "open", "-s", "P2", "-t", "slow")
    assert opened.code == 0, opened.err
    assert _complete("hybridops incident show INC") == [opened.json()["id"]]
    # A broken config never breaks the shell: no offers, no traceback, exit 0.
    config.write_text("environments: [")
    assert _complete("hybridops --env ") == ["sandbox"]
