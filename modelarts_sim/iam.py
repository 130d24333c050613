"""The IAM token call (``POST /v3/auth/tokens``, §6.2) and project lookup (``GET /v3/projects``, §6.3).

The simulator answers IAM on the same host and port as ModelArts, so ``MODELARTS_IAM_ENDPOINT``
can be the simulator's URL. Bodies follow Keystone v3 as Huawei IAM documents it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from . import errors
from .errors import Response, json_response
from .state import SimulatorState, iso8601


def _stable_id(*parts: str) -> str:
    """A 32-hex id derived from names, so the same user always gets the same id."""
    return hashlib.md5("/".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def _bad_request(message: str) -> Response:
    # Inferred, not confirmed by the API reference: no IAM code is documented for a malformed body.
    return errors.keystone_error(400, message)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def issue_token(state: SimulatorState, *, body: bytes, query: dict[str, str], base_url: str) -> Response:
    """Validate a password-method token request and answer 201 with ``X-Subject-Token``."""
    try:
        payload = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        return _bad_request("The request body is not valid JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("auth"), dict):
        return _bad_request('The request body must contain "auth".')
    identity = _get(payload, "auth", "identity")
    methods = _get(identity, "methods")
    if not isinstance(methods, list) or "password" not in methods:
        return _bad_request('auth.identity.methods must contain "password".')
    user = _get(identity, "password", "user")
    name, password, domain_name = _get(user, "name"), _get(user, "password"), _get(user, "domain", "name")
    if not all(isinstance(v, str) and v for v in (name, password, domain_name)):
        return _bad_request("auth.identity.password.user needs name, password and domain.name.")
    scope = _get(payload, "auth", "scope")
    if not isinstance(scope, dict) or not (
        isinstance(scope.get("project"), dict) or isinstance(scope.get("domain"), dict)
    ):
        return _bad_request("auth.scope must name a project (id or name) or a domain.")

    if (name, password, domain_name) != (state.username, state.password, state.domain):
        # Inferred, not confirmed by the API reference: the same answer for a wrong user, password or account.
        return errors.keystone_error(401, "The username or password is wrong.", "IAM.0062")

    project_id: str | None = None
    if isinstance(scope.get("project"), dict):
        project = scope["project"]
        if project.get("id") is not None:
            ok = project["id"] == state.project_id
        elif project.get("name") is not None:
            ok = project["name"] == state.region
        else:
            return _bad_request("auth.scope.project needs id or name.")
        if not ok:
            # Inferred, not confirmed by the API reference: a project outside the account.
            return errors.keystone_error(401, "The request you have made requires authentication.", "IAM.0001")
        project_id = state.project_id
    else:
        domain = scope["domain"]
        if domain.get("name") not in (None, state.domain) or (domain.get("name") is None and domain.get("id") is None):
            return errors.keystone_error(401, "The request you have made requires authentication.", "IAM.0001")

    token, info = state.issue_token(project_id=project_id)
    domain_ref = {"id": _stable_id("domain", state.domain), "name": state.domain}
    body_token: dict[str, Any] = {
        "expires_at": iso8601(info.expires_at),
        "issued_at": iso8601(info.issued_at),
        "methods": ["password"],
        "user": {
            "id": _stable_id("user", state.domain, state.username),
            "name": state.username,
            "domain": domain_ref,
            "password_expires_at": "",
        },
        "roles": [
            {"id": _stable_id("role", "te_admin"), "name": "te_admin"},
            {"id": _stable_id("role", "op_gated_modelarts"), "name": "op_gated_modelarts"},
        ],
    }
    if project_id:
        body_token["project"] = {"id": project_id, "name": state.region, "domain": domain_ref}
    else:
        body_token["domain"] = domain_ref
    if query.get("nocatalog", "").lower() != "true":
        body_token["catalog"] = _catalog(state, base_url)
    response = json_response(201, {"token": body_token})
    response.headers.append(("X-Subject-Token", token))
    return response


def _catalog(state: SimulatorState, base_url: str) -> list[dict[str, Any]]:
    def service(kind: str, name: str, url: str) -> dict[str, Any]:
        return {
            "type": kind,
            "id": _stable_id("service", kind),
            "name": name,
            "endpoints": [
                {
                    "id": _stable_id("endpoint", kind, state.region),
                    "interface": "public",
                    "region": state.region,
                    "region_id": state.region,
                    "url": url,
                }
            ],
        }

    return [
        service("modelarts", "modelarts", f"{base_url}/v1/{state.project_id}"),
        service("identity", "iam", f"{base_url}/v3"),
    ]


def list_projects(state: SimulatorState, *, query: dict[str, str]) -> Response:
    """``GET /v3/projects[?name=region]``: the one project of the simulated account."""
    project = {
        "id": state.project_id,
        "name": state.region,
        "domain_id": _stable_id("domain", state.domain),
        "enabled": True,
        "is_domain": False,
        "parent_id": _stable_id("domain", state.domain),
        "description": "",
    }
    name = query.get("name")
    projects = [project] if name in (None, state.region) else []
    return json_response(200, {"projects": projects, "links": {"self": "/v3/projects"}})
