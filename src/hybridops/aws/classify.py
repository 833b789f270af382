"""Which AWS services and operations exist (read/write classification: hybridops.gate)."""

from __future__ import annotations

import functools
import re
from typing import Any


def to_python_name(api_name: str) -> str:
    """`DescribeServices` -> `describe_services`, as boto3 spells it."""
    from botocore import xform_name

    return str(xform_name(api_name))


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
