"""Which AWS operations are read-only, and which services and operations exist."""

from __future__ import annotations

import functools
import re
from typing import Any

READ_ONLY_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Filter",
    "Lookup",
    "Search",
    "Simulate",
    "Test",
    "Validate",
    "Check",
)
# Logs Insights queries read data even though StartQuery does not look like a read, and
# StopQuery only cancels such a read (one of ours that timed out).
READ_ONLY_OPERATIONS = frozenset({"StartQuery", "GetQueryResults", "StopQuery"})


def to_api_name(operation: str) -> str:
    """`describe_services` -> `DescribeServices` (API names pass through unchanged)."""
    if "_" not in operation and operation[:1].isupper():
        return operation
    return "".join(part[:1].upper() + part[1:] for part in operation.split("_"))


def to_python_name(api_name: str) -> str:
    """`DescribeServices` -> `describe_services`, as boto3 spells it."""
    from botocore import xform_name

    return str(xform_name(api_name))


def is_read_only(operation: str) -> bool:
    """True for operations that only read: Describe*/List*/Get*/... and start_query."""
    api = to_api_name(operation)
    return api in READ_ONLY_OPERATIONS or api.startswith(READ_ONLY_PREFIXES)


@functools.lru_cache(maxsize=1)
def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def shared_data_loader() -> Any:
    """botocore's model loader, shared so each service model is parsed once per process."""
    return _botocore_session().get_component("data_loader")


@functools.lru_cache(maxsize=1)
def available_services() -> frozenset[str]:
    """Every service name botocore knows."""
    return frozenset(_botocore_session().get_available_services())


@functools.lru_cache(maxsize=256)
def _has_model(service: str) -> bool:
    # Loading the one model is cheaper than listing every service's directory (~1,300 of
    # them), and the operation check needs the model anyway.
    from botocore.exceptions import UnknownServiceError

    try:
        service_operations(service)
    except UnknownServiceError:
        return False
    return True


@functools.lru_cache(maxsize=256)
def service_operations(service: str) -> frozenset[str]:
    """The snake_case operation names of a service."""
    model = _botocore_session().get_service_model(service)
    return frozenset(to_python_name(op) for op in model.operation_names)


_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def check_operation(service: str, operation: str) -> str | None:
    """Return a problem description if service/operation is unknown, else None."""
    if not _has_model(service):
        close = sorted(s for s in available_services() if s.startswith(service[:3]))[:5]
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        return f"unknown AWS service {service!r}{hint}"
    if not _SNAKE.match(operation):
        return f"operation {operation!r} must be snake_case, as in boto3 (e.g. describe_services)"
    if operation not in service_operations(service):
        return f"unknown operation {operation!r} for service {service!r}"
    return None
