"""Runbook `triggers:`: when a runbook applies, as conditions over the facts document.

Kept apart from the step models so that `hybridops triage`, the first command on a page, reads
triggers without building every step model.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from hybridops.engine import matching
from hybridops.engine.templating import TemplateError, iter_references

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _fact_templates(value: Any) -> Any:
    """`${{ }}` in a trigger: facts.* (checked against the facts' shape) or env.* only."""
    from hybridops.engine import facts

    try:
        references = list(iter_references(value))
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    for ref in references:
        if ref[0] == "facts":
            problem = facts.path_problem(tuple(str(p) for p in ref[1:]))
            if problem:
                raise ValueError(f"no such fact: facts.{problem}")
        elif ref[0] != "env":
            raise ValueError(
                f"a trigger reads facts.* and env.* only, not {ref[0]}.* (in {value!r})"
            )
    return value


def _fact_conditions(value: dict[str, Any]) -> dict[str, Any]:
    """Trigger conditions: JMESPath over the facts document -> an `expect` matcher."""
    from hybridops.engine import facts

    if not value:
        raise ValueError("give at least one condition: FACT_PATH: expected value")
    for path, expected in value.items():
        matching.compile_path(path)
        matching.check_matcher(expected)
    for path in value:
        for chain in matching.root_paths(path):
            problem = facts.path_problem(chain)
            if problem:
                raise ValueError(f"no such fact: {problem}")
    return value


FactConditions = Annotated[dict[str, Any], AfterValidator(_fact_conditions)]
FactText = Annotated[str, AfterValidator(_fact_templates)]


class Blocker(_Strict):
    """A condition under which a trigger that holds is not recommended, and why."""

    when: FactConditions = Field(description="JMESPath over the facts -> expected (all hold)")
    says: FactText = Field(
        min_length=1, max_length=300, description="why not, shown as a finding (${{ facts.x }})"
    )


class Trigger(_Strict):
    """When a runbook applies, as data: conditions over `hybridops triage`'s facts document."""

    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    priority: int = Field(
        ge=1,
        le=1000,
        description="higher first: a fresh bad deploy (100) before a regional outage (90)"
        " before a dependency (80) before capacity (60)",
    )
    when: FactConditions = Field(
        description="JMESPath over the facts -> expected value or matcher; all must hold"
    )
    unless: list[Blocker] = Field(
        default_factory=list, description="conditions that block the recommendation, with why"
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="parameters of the recommended run (${{ facts.x }})"
    )
    why: FactText = Field(
        min_length=1, max_length=500, description="the evidence in words (${{ facts.x }})"
    )
    changes: FactText | None = Field(
        None, max_length=500, description="what the run will change, in words"
    )
    fallback: bool = Field(
        False, description="considered only when no other runbook's trigger holds"
    )

    @field_validator("params")
    @classmethod
    def _param_templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _fact_templates(value)
