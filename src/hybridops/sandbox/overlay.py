"""WSGI layer in front of moto: answers what moto lacks, in the real wire format, with state.

- Lambda provisioned concurrency (put/get/delete/list): IN_PROGRESS -> READY, or FAILED.
- Bedrock `ListFoundationModels` / `GetFoundationModel`.
- IAM `SimulatePrincipalPolicy`, evaluating the role's inline and attached policies.
- `/_hybridops/...`: the sandbox control API (scenarios, reset, state).
Everything else passes to moto unchanged.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import io
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

if TYPE_CHECKING:
    from hybridops.sandbox.server import Sandbox

from hybridops.sandbox.topology import ACCOUNT

log = logging.getLogger("hybridops.sandbox")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_CREDENTIAL_RE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_PC_RE = re.compile(r"^/2019-09-30/functions/([^/]+)/provisioned-concurrency$")
_MODEL_RE = re.compile(r"^/foundation-models/(.+)$")
ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100
MODELS = [
    (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "Claude 3.5 Sonnet",
        "Anthropic",
        ["TEXT", "IMAGE"],
    ),
    ("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", "Anthropic", ["TEXT", "IMAGE"]),
    ("amazon.titan-text-express-v1", "Titan Text G1 - Express", "Amazon", ["TEXT"]),
    ("amazon.titan-embed-text-v2:0", "Titan Text Embeddings V2", "Amazon", ["TEXT"]),
]


def request_label(environ: dict[str, Any]) -> str:
    """`UpdateService`-style label for a request (JSON, query or REST protocol)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    for part in environ.get("QUERY_STRING", "").split("&"):
        if part.startswith("Action="):
            return part[len("Action=") :]
    return f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


@dataclass
class ProvisionedConcurrency:
    """One provisioned concurrency configuration (function + qualifier)."""

    function_arn: str
    requested: int
    status: str
    reason: str | None
    modified: str
    ready_at: float

    def view(self) -> dict[str, Any]:
        """The wire shape, advancing IN_PROGRESS -> READY once its time has come."""
        if self.status == "IN_PROGRESS" and time.monotonic() >= self.ready_at:
            self.status = "READY"
        allocated = self.requested if self.status == "READY" else 0
        out: dict[str, Any] = {
            "RequestedProvisionedConcurrentExecutions": self.requested,
            "AvailableProvisionedConcurrentExecutions": allocated,
            "AllocatedProvisionedConcurrentExecutions": allocated,
            "Status": self.status,
            "LastModified": self.modified,
        }
        if self.reason:
            out["StatusReason"] = self.reason
        return out


class Overlay:
    """The WSGI application the sandbox serves: overlay handlers, then moto."""

    def __init__(self, app: WsgiApp, sandbox: Sandbox | None = None) -> None:
        self.app = app
        self.sandbox = sandbox
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.provisioned: dict[tuple[str, str, str], ProvisionedConcurrency] = {}
        self.pc_ready_s = 1.0
        # Called with (label, region, body, HTTP status) once moto has handled a request.
        self.after_request: Callable[[str, str, bytes, int], None] | None = None
        # Held from moto's handling of a request to the end of after_request (see Sandbox).
        self.held_for: Callable[[str], AbstractContextManager[Any]] = lambda label: nullcontext()

    # -- dispatch -------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_hybridops/"):
            return self._control(environ, start_response, path)
        service, region = self._scope(environ)
        label = request_label(environ)
        body = b""
        if environ.get("REQUEST_METHOD") in ("POST", "PUT"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            if "HTTP_X_AMZ_TARGET" not in environ:
                form = parse_qs(body.decode("utf-8", "replace"))
                if "Action" in form:
                    label = form["Action"][0]
        if "HTTP_X_HYBRIDOPS_INTERNAL" not in environ:
            with self.lock:
                self.requests[label] += 1
            if self.sandbox is not None:
                self.sandbox.note_request(
                    f"{service or 'aws'} {label}", environ.get("HTTP_USER_AGENT", "")
                )
        handled = self._overlay(service, region, label, environ, body)
        if handled is not None:
            status, headers, payload = handled
            start_response(status, headers)
            return [payload]
        statuses: list[str] = []

        def noted(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        with self.held_for(label):
            result = list(self.app(environ, noted))
            if self.after_request is not None:
                code = int(statuses[-1].split(" ", 1)[0]) if statuses else 500
                self.after_request(label, region, body, code)
        return result

    @staticmethod
    def _scope(environ: dict[str, Any]) -> tuple[str, str]:
        match = _CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        return (match.group(2), match.group(1)) if match else ("", "")

    def _overlay(
        self, service: str, region: str, label: str, environ: dict[str, Any], body: bytes
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if service == "lambda":
            match = _PC_RE.match(path)
            if match:
                query = parse_qs(environ.get("QUERY_STRING", ""))
                return self._provisioned(region, unquote(match.group(1)), method, query, body)
        if service == "bedrock" and method == "GET":
            if path == "/foundation-models":
                return self._list_models(region)
            match = _MODEL_RE.match(path)
            if match:
                return self._get_model(region, unquote(match.group(1)))
        if service == "iam" and label == "SimulatePrincipalPolicy":
            return self._simulate(parse_qs(body.decode()))
        return None

    # -- responses ------------------------------------------------------------------------
    @staticmethod
    def _json(
        status: int, document: Any, error_type: str | None = None
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        reason = {
            200: "OK",
            202: "Accepted",
            204: "No Content",
            400: "Bad Request",
            404: "Not Found",
            409: "Conflict",
            503: "Service Unavailable",
        }[status]
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
        if error_type:
            headers.append(("x-amzn-ErrorType", error_type))
        data = b"" if status == 204 else json.dumps(document).encode()
        headers.append(("Content-Length", str(len(data))))
        return f"{status} {reason}", headers, data

    def _error(
        self, status: int, error_type: str, message: str
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        return self._json(
            status, {"Type": "User", "message": message, "Message": message}, error_type
        )

    # -- Lambda provisioned concurrency -----------------------------------------------------
    def _function_arn(self, region: str, name: str, qualifier: str) -> str | None:
        """The qualified ARN, "$LATEST" (not allowed here), or None if it does not exist."""
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[ACCOUNT][region]
        short = name.split(":function:")[-1].split(":")[0]
        if qualifier == "$LATEST":
            return "$LATEST"
        try:
            backend.get_function(short, qualifier)
        except Exception:
            return None
        return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{short}:{qualifier}"

    def _provisioned(
        self, region: str, name: str, method: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        short = name.split(":function:")[-1].split(":")[0]
        if method == "GET" and query.get("List"):
            items = [
                {"FunctionArn": pc.function_arn, **pc.view()}
                for (r, fn, _), pc in sorted(self.provisioned.items())
                if r == region and fn == short
            ]
            return self._json(200, {"ProvisionedConcurrencyConfigs": items})
        qualifier = (query.get("Qualifier") or [""])[0]
        if not qualifier:
            return self._error(400, "InvalidParameterValueException", "Qualifier is required")
        arn = self._function_arn(region, name, qualifier)
        if arn == "$LATEST":
            return self._error(
                400,
                "InvalidParameterValueException",
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
            )
        if arn is None:
            return self._error(
                404,
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:{region}:{ACCOUNT}:function:{short}:{qualifier}",
            )
        key = (region, short, qualifier)
        with self.lock:
            if method == "PUT":
                requested = int(json.loads(body or b"{}").get("ProvisionedConcurrentExecutions", 0))
                if requested < 1:
                    return self._error(
                        400,
                        "InvalidParameterValueException",
                        "ProvisionedConcurrentExecutions must be at least 1",
                    )
                others = sum(
                    pc.requested
                    for k, pc in self.provisioned.items()
                    if k != key and k[0] == region
                )
                if others + requested > ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM:
                    status, reason = (
                        "FAILED",
                        (
                            "FUNCTION_ERROR_INIT_FAILURE: Requested provisioned concurrency exceeds the "
                            f"account's unreserved concurrency ({ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM - others} available)"
                        ),
                    )
                    if self.sandbox is not None and "lambda-init-failure" in self.sandbox.faults:
                        reason = "FUNCTION_ERROR_INIT_FAILURE: Init failed"
                else:
                    status, reason = "IN_PROGRESS", None
                    if self.sandbox is not None and "lambda-init-failure" in self.sandbox.faults:
                        status, reason = "FAILED", "FUNCTION_ERROR_INIT_FAILURE: Init failed"
                pc = ProvisionedConcurrency(
                    arn, requested, status, reason, _now_iso(), time.monotonic() + self.pc_ready_s
                )
                self.provisioned[key] = pc
                return self._json(202, pc.view())
            existing = self.provisioned.get(key)
            if existing is None:
                return self._error(
                    404,
                    "ProvisionedConcurrencyConfigNotFoundException",
                    f"No Provisioned Concurrency Config found for this function: {arn}",
                )
            if method == "DELETE":
                del self.provisioned[key]
                return self._json(204, None)
            return self._json(200, existing.view())

    def provisioned_ready(self, region: str, function: str, qualifier: str) -> int:
        """READY provisioned concurrency for a function alias (for scenarios)."""
        pc = self.provisioned.get((region, function, qualifier))
        if pc is None:
            return 0
        view = pc.view()
        return int(view["AvailableProvisionedConcurrentExecutions"])

    # -- Bedrock ------------------------------------------------------------------------------
    def _model_summary(self, region: str, model: tuple[str, str, str, list[str]]) -> dict[str, Any]:
        model_id, name, provider, inputs = model
        return {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
            "modelId": model_id,
            "modelName": name,
            "providerName": provider,
            "inputModalities": inputs,
            "outputModalities": ["EMBEDDING"] if "embed" in model_id else ["TEXT"],
            "responseStreamingSupported": "embed" not in model_id,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"},
        }

    def _bedrock_down(self) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if self.sandbox is not None and "bedrock-down" in self.sandbox.faults:
            return self._error(
                503,
                "ServiceUnavailableException",
                "Bedrock is currently unavailable in this region.",
            )
        return None

    def _list_models(self, region: str) -> tuple[str, list[tuple[str, str]], bytes]:
        down = self._bedrock_down()
        if down:
            return down
        return self._json(200, {"modelSummaries": [self._model_summary(region, m) for m in MODELS]})

    def _get_model(self, region: str, model_id: str) -> tuple[str, list[tuple[str, str]], bytes]:
        down = self._bedrock_down()
        if down:
            return down
        for model in MODELS:
            if model[0] == model_id or model_id.endswith(f"/{model[0]}"):
                return self._json(200, {"modelDetails": self._model_summary(region, model)})
        return self._error(
            404, "ResourceNotFoundException", f"The model {model_id} does not exist."
        )

    # -- IAM SimulatePrincipalPolicy ------------------------------------------------------------
    def _simulate(self, form: dict[str, list[str]]) -> tuple[str, list[tuple[str, str]], bytes]:
        source = (form.get("PolicySourceArn") or [""])[0]
        actions = [
            v[0]
            for k, v in sorted(form.items(), key=lambda kv: _member_index(kv[0]))
            if k.startswith("ActionNames.member.")
        ]
        resources = [
            v[0]
            for k, v in sorted(form.items(), key=lambda kv: _member_index(kv[0]))
            if k.startswith("ResourceArns.member.")
        ] or ["*"]
        policies = _principal_policies(source)
        if policies is None:
            return _iam_error(
                "NoSuchEntity", f"The role with name {source.rsplit('/', 1)[-1]} cannot be found."
            )
        members = []
        for action in actions:
            for resource in resources:
                decision, matched = evaluate_policies(policies, action, resource)
                matched_xml = "".join(
                    f"<member><SourcePolicyId>{_xml(p)}</SourcePolicyId><SourcePolicyType>IAM Policy</SourcePolicyType>"
                    "<StartPosition><Line>1</Line><Column>1</Column></StartPosition>"
                    "<EndPosition><Line>1</Line><Column>1</Column></EndPosition></member>"
                    for p in matched
                )
                members.append(
                    f"<member><EvalActionName>{_xml(action)}</EvalActionName>"
                    f"<EvalResourceName>{_xml(resource)}</EvalResourceName>"
                    f"<EvalDecision>{decision}</EvalDecision>"
                    f"<MatchedStatements>{matched_xml}</MatchedStatements>"
                    "<MissingContextValues/></member>"
                )
        xml = (
            '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
            f"<EvaluationResults>{''.join(members)}</EvaluationResults>"
            "</SimulatePrincipalPolicyResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</SimulatePrincipalPolicyResponse>"
        ).encode()
        return "200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(xml)))], xml

    # -- control API ------------------------------------------------------------------------------
    def _control(
        self, environ: dict[str, Any], start_response: Callable[..., Any], path: str
    ) -> Iterable[bytes]:
        status, document = 404, {"error": "not found"}
        method = environ.get("REQUEST_METHOD")
        if self.sandbox is not None:
            try:
                if path == "/_hybridops/state" and method == "GET":
                    status, document = 200, self.sandbox.state()
                elif path.startswith("/_hybridops/scenario/") and method == "POST":
                    name = path.rsplit("/", 1)[-1]
                    self.sandbox.break_(name)
                    status, document = 200, self.sandbox.state()
                elif path == "/_hybridops/reset" and method == "POST":
                    self.sandbox.reset()
                    status, document = 200, self.sandbox.state()
            except KeyError as exc:
                status, document = 400, {"error": str(exc).strip("'\"")}
            except Exception as exc:  # the control API answers JSON, whatever the estate met
                log.exception("sandbox control %s failed", path)
                status, document = 500, {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(document, default=str).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'Error'}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]


def _member_index(key: str) -> int:
    tail = key.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _iam_error(code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    xml = (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return "404 Not Found", [("Content-Type", "text/xml"), ("Content-Length", str(len(xml)))], xml


def _principal_policies(source_arn: str) -> list[tuple[str, dict[str, Any]]] | None:
    """(policy id, document) for the role or user named by the ARN; None if it does not exist."""
    from moto.iam.models import iam_backends

    backend = (
        iam_backends[ACCOUNT]["aws"]
        if "aws" in iam_backends[ACCOUNT]
        else iam_backends[ACCOUNT]["global"]
    )
    name = source_arn.rsplit("/", 1)[-1]
    try:
        principal = backend.get_role(name) if ":role/" in source_arn else backend.get_user(name)
    except Exception:
        return None
    out: list[tuple[str, dict[str, Any]]] = []
    for policy_name, document in (getattr(principal, "policies", {}) or {}).items():
        out.append((policy_name, json.loads(document) if isinstance(document, str) else document))
    for policy in (getattr(principal, "managed_policies", {}) or {}).values():
        version = next((v for v in policy.versions if v.is_default), None)
        if version is not None:
            doc = version.document
            out.append((policy.name, json.loads(doc) if isinstance(doc, str) else doc))
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _matches(pattern: str, value: str, *, case: bool) -> bool:
    if not case:
        return fnmatch.fnmatchcase(value.lower(), pattern.lower())
    return fnmatch.fnmatchcase(value, pattern)


def evaluate_policies(
    policies: list[tuple[str, dict[str, Any]]], action: str, resource: str
) -> tuple[str, list[str]]:
    """IAM's decision for one action on one resource: explicit deny > allow > implicit deny."""
    allowed: list[str] = []
    denied: list[str] = []
    for policy_id, document in policies:
        for statement in _as_list_of_dicts(document.get("Statement")):
            actions = _as_list(statement.get("Action"))
            not_actions = _as_list(statement.get("NotAction"))
            action_hit = (
                any(_matches(a, action, case=False) for a in actions)
                if actions
                else (
                    bool(not_actions)
                    and not any(_matches(a, action, case=False) for a in not_actions)
                )
            )
            resources = _as_list(statement.get("Resource")) or ["*"]
            resource_hit = any(_matches(r, resource, case=True) or r == "*" for r in resources)
            if action_hit and resource_hit:
                (denied if statement.get("Effect") == "Deny" else allowed).append(policy_id)
    if denied:
        return "explicitDeny", denied
    if allowed:
        return "allowed", allowed
    return "implicitDeny", []


def _as_list_of_dicts(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)
