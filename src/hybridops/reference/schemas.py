"""JSON Schemas of the runbook format and of hybridops.yaml, for YAML editors."""

from __future__ import annotations

import json
from typing import Any

SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"


def runbook_schema() -> dict[str, Any]:
    """The JSON Schema of a runbook file."""
    from hybridops.engine.models import Runbook

    document = Runbook.model_json_schema(by_alias=True)
    document["$schema"] = SCHEMA_URL
    document["title"] = "hybridops runbook"
    return document


def config_schema() -> dict[str, Any]:
    """The JSON Schema of hybridops.yaml."""
    from hybridops.config import Config

    document = Config.model_json_schema(by_alias=True)
    document["$schema"] = SCHEMA_URL
    document["title"] = "hybridops configuration (hybridops.yaml)"
    return document


def as_text(document: dict[str, Any]) -> str:
    """Stable JSON text (sorted keys: a diff shows only real changes)."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
