"""Property tests: whatever the input, the loader and templating end in a value or a clear
validation error — never another exception — and YAML bombs are refused quickly."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridops.engine.loader import validate_data
from hybridops.engine.templating import render
from hybridops.errors import BadInput, HybridOpsError
from hybridops.yamlsource import parse_yaml

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
step_like = st.fixed_dictionaries(
    {"name": st.text(max_size=12)},
    optional={
        "aws": st.dictionaries(
            st.sampled_from(["service", "operation", "params", "region"]), json_like, max_size=4
        ),
        "sleep": json_like,
        "confirm": json_like,
        "when": json_like,
        "outputs": json_like,
    },
)
runbook_like = st.fixed_dictionaries(
    {"name": st.text(max_size=12), "steps": st.lists(step_like, max_size=3)},
    optional={"parameters": json_like, "lock": json_like},
)
quick = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(st.text(max_size=300))
def test_any_text_parses_or_is_bad_input(text: str) -> None:
    with contextlib.suppress(BadInput):
        parse_yaml(text, "t.yaml")


@quick
@given(json_like | runbook_like)
def test_any_data_validates_or_fails_clearly(data: Any) -> None:
    try:
        validate_data(data, "t.yaml")
    except HybridOpsError as exc:
        assert exc.exit_code == 2
        assert "\n" not in exc.message


@quick
@given(
    st.text(alphabet=st.sampled_from(list("${} .abcparmsteo_-[]0'\"|")), max_size=40),
    json_like,
)
def test_templates_render_or_fail_clearly(template: str, value: Any) -> None:
    scope = {"params": {"a": value}, "steps": {"s": {"outputs": {"o": value}}}, "env": {}}
    try:
        render(template, scope)
    except HybridOpsError as exc:
        assert exc.exit_code == 2


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
            for i in range(6)
        ),
        "a: &a [*a]\n",
        "[" * 5000 + "]" * 5000,
        "!!python/object/apply:os.system ['true']",
    ],
    ids=["billion-laughs", "self-reference", "deep-nesting", "python-tag"],
)
def test_hostile_yaml_is_refused(text: str) -> None:
    with pytest.raises(BadInput, match=r"^t\.yaml.*invalid YAML"):
        parse_yaml(text, "t.yaml")
