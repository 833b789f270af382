"""The child interpreter of `aws:executeScript`: the document's Python with a boto3 of our own.

Run as a separate process by `ssm.execute_script`. The script's `boto3.client(...)` returns a
proxy whose every call is sent to the parent, which makes it with hybridops' clients — the
environment's credentials, region and endpoint, and the gate (dry-run, read-only,
confirmation, audit). Nothing here talks to AWS. Imports only the standard library (and
botocore's exceptions, so scripts can catch ClientError as they do on SSM).
"""

from __future__ import annotations

import json
import os
import sys
import types
from typing import Any

_REQUESTS = os.fdopen(int(os.environ["HYBRIDOPS_SCRIPT_REQUESTS"]), "w")
_ANSWERS = os.fdopen(int(os.environ["HYBRIDOPS_SCRIPT_ANSWERS"]), "r")


class PlannedStop(BaseException):
    """A dry run planned a change: what the script does next depends on its answer."""


def _ask(message: dict[str, Any]) -> dict[str, Any]:
    # What the script printed so far is in the parent's capture before it hears from us.
    sys.stdout.flush()
    sys.stderr.flush()
    _REQUESTS.write(json.dumps(message, default=str) + "\n")
    _REQUESTS.flush()
    line = _ANSWERS.readline()
    if not line:
        raise SystemExit(70)
    answer: dict[str, Any] = json.loads(line)
    return answer


_ERROR_CLASSES: dict[str, type] = {}


def _error_class(code: str) -> type:
    """`client.exceptions.X`: one ClientError subclass per code, as botocore generates them."""
    from botocore.exceptions import ClientError

    if code == "ClientError":
        return ClientError
    if code not in _ERROR_CLASSES:
        _ERROR_CLASSES[code] = type(code, (ClientError,), {})
    return _ERROR_CLASSES[code]


def _client_error(error: dict[str, Any], operation: str) -> Exception:
    cls = _error_class(str(error.get("Code") or "Unknown"))
    error_instance: Exception = cls({"Error": error}, operation)
    return error_instance


class _Exceptions:
    def __getattr__(self, name: str) -> type:
        if name.startswith("_"):
            raise AttributeError(name)
        return _error_class(name)


class _Waiter:
    """botocore's waiter, from its model, polling through the proxy."""

    def __init__(self, client: _Client, name: str) -> None:
        import botocore.session
        from botocore import xform_name
        from botocore.waiter import NormalizedOperationMethod, Waiter

        model = botocore.session.get_session().get_waiter_model(client._service)
        found = next((w for w in model.waiter_names if xform_name(w) == name), None)
        if found is None:
            raise ValueError(f"Waiter does not exist: {name}")
        config = model.get_waiter(found)
        method = getattr(client, xform_name(config.operation))
        self._waiter = Waiter(found, config, NormalizedOperationMethod(method))

    def wait(self, **kwargs: Any) -> None:
        self._waiter.wait(**kwargs)


class _Paginator:
    def __init__(self, client: _Client, operation: str) -> None:
        self.client, self.operation = client, operation

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        return list(self.client._send(self.operation, kwargs, paginate=True))


class _Client:
    def __init__(self, service: str, region: str | None) -> None:
        self._service, self._region = service, region

    def _send(self, operation: str, kwargs: dict[str, Any], paginate: bool = False) -> Any:
        answer = _ask(
            {
                "call": {
                    "service": self._service,
                    "region": self._region,
                    "operation": operation,
                    "params": kwargs,
                    "paginate": paginate,
                }
            }
        )
        if "planned" in answer:
            raise PlannedStop()
        if "error" in answer:
            raise _client_error(answer["error"], operation)
        return answer["result"]

    def get_paginator(self, operation: str) -> _Paginator:
        return _Paginator(self, operation)

    def get_waiter(self, name: str) -> _Waiter:
        return _Waiter(self, name)

    @property
    def exceptions(self) -> _Exceptions:
        return _Exceptions()

    @property
    def meta(self) -> Any:
        return types.SimpleNamespace(region_name=self._region, service_name=self._service)

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**kwargs: Any) -> Any:
            return self._send(operation, kwargs)

        return call


def _boto3() -> types.ModuleType:
    module = types.ModuleType("boto3")

    def client(service_name: str, region_name: str | None = None, **_: Any) -> _Client:
        return _Client(service_name, region_name)

    class Session:
        def __init__(self, region_name: str | None = None, **_: Any) -> None:
            self.region_name = region_name

        def client(self, service_name: str, region_name: str | None = None, **_: Any) -> _Client:
            return _Client(service_name, region_name or self.region_name)

    def resource(*_: Any, **__: Any) -> Any:
        raise NotImplementedError("boto3.resource is not available to scripts run by hybridops")

    session = types.ModuleType("boto3.session")
    session.Session = Session  # type: ignore[attr-defined]
    module.client = client  # type: ignore[attr-defined]
    module.resource = resource  # type: ignore[attr-defined]
    module.Session = Session  # type: ignore[attr-defined]
    module.session = session  # type: ignore[attr-defined]
    sys.modules["boto3"] = module
    sys.modules["boto3.session"] = session
    return module


def main() -> None:
    """Read {script, handler, payload} on stdin; run the handler; report its return value."""
    job = json.loads(sys.stdin.read())
    _boto3()
    namespace: dict[str, Any] = {"__name__": "automation_script"}
    try:
        exec(compile(job["script"], "<executeScript>", "exec"), namespace)
        handler = namespace.get(job["handler"])
        if not callable(handler):
            _ask({"failed": f"the script defines no function {job['handler']!r}"})
            return
        result = handler(job["payload"], job.get("context") or {})
    except PlannedStop:
        _ask({"planned": True})
        return
    except BaseException as exc:  # the script's own failure: its message fails the step
        _ask({"failed": f"{type(exc).__name__}: {exc}"})
        return
    _ask({"done": result})


if __name__ == "__main__":
    main()
