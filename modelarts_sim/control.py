"""Control endpoints under ``/_sim/``: inspect and change a running simulator over HTTP.

They need no authentication, are never affected by faults, are not recorded in the request log
and are clearly apart from the API paths (``/v1/...``, ``/v3/...``). All bodies are JSON.

==========================================  ==================================================
``GET /_sim/``                              project, credentials, counts, faults, ``env`` lines
``GET /_sim/faults``                        ``{"faults": [...]}``
``POST /_sim/faults``                       add one fault object, a list, or ``{"faults": [...]}``
``DELETE /_sim/faults[/{id}]``              remove all faults, or one
``POST /_sim/reset``                        seed data, start-up faults, empty log (tokens kept)
``POST /_sim/tokens/expire``                expire every token now (issued and static)
``POST /_sim/clock``                        ``{"advance": seconds}``: move the simulator clock
``POST /_sim/refuse``                       ``{"seconds": n}``: stop listening (connection refused)
``GET /_sim/configs[?config_type=]``        names and count
``GET /_sim/configs/{name}[?config_type=]`` the stored detail payload
``POST /_sim/configs``                      one action or a list: ``{"action": "update",
                                            "config_name": ..., "changes": {...}}``,
                                            ``{"action": "delete", "config_name": ...}``,
                                            ``{"action": "add", "config": {...}}``,
                                            ``{"action": "generate", "count": n}``
                                            (optional ``"config_type"`` on each)
``GET /_sim/requests[?endpoint=]``          the request log
``DELETE /_sim/requests``                   clear the request log
``GET /_sim/secrets``                       every secret value in the seed data
==========================================  ==================================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import Response, json_response
from .state import SimulatorState

if TYPE_CHECKING:
    from .app import Request


class _BadRequest(Exception):
    pass


def _fail(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def _body(request: Request) -> Any:
    if not request.body:
        return {}
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest("the body is not JSON") from None


def handle(state: SimulatorState, request: Request) -> Response:
    """Answer one ``/_sim/...`` request."""
    parts = [p for p in request.segments[2:] if p != ""]
    method = request.method
    try:
        return _dispatch(state, request, method, parts)
    except _BadRequest as exc:
        return _fail(400, str(exc))
    except (ValueError, TypeError) as exc:
        return _fail(400, str(exc))


def _dispatch(state: SimulatorState, request: Request, method: str, parts: list[str]) -> Response:
    head = parts[0] if parts else ""
    if head == "" and method == "GET":
        url = f"http://{request.host}"
        info = state.info()
        info["url"] = url
        info["env"] = {mode: state.env(mode, url) for mode in ("aksk", "password", "token")}
        return json_response(200, info)
    if head == "faults":
        return _faults(state, request, method, parts[1:])
    if parts == ["reset"] and method == "POST":
        state.reset()
        return json_response(200, {"reset": True})
    if parts == ["tokens", "expire"] and method == "POST":
        return json_response(200, {"expired": state.expire_tokens()})
    if parts == ["clock"] and method == "POST":
        seconds = _body(request).get("advance", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise _BadRequest('"advance" must be a number of seconds')
        state.advance_clock(seconds)
        return json_response(200, {"now": state.now()})
    if parts == ["refuse"] and method == "POST":
        if state.refuse_hook is None:
            return _fail(409, "no running SimulatorServer to stop")
        seconds = _body(request).get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0):
            raise _BadRequest('"seconds" must be a positive number')
        state.refuse_hook(seconds)
        return json_response(200, {"refusing": True, "seconds": seconds})
    if head == "configs":
        return _configs(state, request, method, parts[1:])
    if parts == ["requests"] and method == "GET":
        records = state.requests(request.query.get("endpoint"), method=request.query.get("method"))
        return json_response(
            200,
            {"count": len(records), "max_in_flight": state.max_in_flight, "requests": [r.to_json() for r in records]},
        )
    if parts == ["requests"] and method == "DELETE":
        state.clear_requests()
        return json_response(200, {"cleared": True})
    if parts == ["secrets"] and method == "GET":
        return json_response(200, {"secret_values": sorted(state.secret_values())})
    return _fail(404, f"unknown control endpoint {method} /_sim/{'/'.join(parts)}")


def _faults(state: SimulatorState, request: Request, method: str, rest: list[str]) -> Response:
    if not rest and method == "GET":
        return json_response(200, {"faults": [f.to_json() for f in state.faults()]})
    if not rest and method == "POST":
        body = _body(request)
        specs = body.get("faults") if isinstance(body, dict) and "faults" in body else body
        specs = specs if isinstance(specs, list) else [specs]
        added = [state.add_fault_json(spec) for spec in specs]
        return json_response(200, {"faults": [f.to_json() for f in added]})
    if not rest and method == "DELETE":
        state.clear_faults()
        return json_response(200, {"faults": []})
    if len(rest) == 1 and method == "DELETE" and rest[0].isdigit():
        if not state.remove_fault(int(rest[0])):
            return _fail(404, f"no fault {rest[0]}")
        return json_response(200, {"removed": int(rest[0])})
    return _fail(404, "unknown faults endpoint")


def _configs(state: SimulatorState, request: Request, method: str, rest: list[str]) -> Response:
    config_type = request.query.get("config_type", "custom")
    if not rest and method == "GET":
        names = state.config_names(config_type)
        return json_response(200, {"config_type": config_type, "count": len(names), "names": names})
    if len(rest) == 1 and method == "GET":
        detail = state.get_config(rest[0], config_type)
        if detail is None:
            return _fail(404, f"no {config_type} config {rest[0]!r}")
        return json_response(200, detail)
    if not rest and method == "POST":
        body = _body(request)
        actions = body if isinstance(body, list) else [body]
        results = [_config_action(state, action) for action in actions]
        return json_response(200, {"results": results, "count": state.count()})
    return _fail(404, "unknown configs endpoint")


def _config_action(state: SimulatorState, action: Any) -> dict[str, Any]:
    if not isinstance(action, dict):
        raise _BadRequest("each action is a JSON object")
    kind = action.get("action")
    config_type = action.get("config_type", "custom")
    name = action.get("config_name")
    if kind == "update":
        changes = action.get("changes")
        if not isinstance(name, str) or not isinstance(changes, dict):
            raise _BadRequest('update needs "config_name" and "changes"')
        try:
            detail = state.update_config(name, changes, config_type=config_type)
        except KeyError:
            raise _BadRequest(f"no {config_type} config {name!r}") from None
        return {"action": "update", "config_name": detail["config_name"]}
    if kind == "delete":
        if not isinstance(name, str):
            raise _BadRequest('delete needs "config_name"')
        return {"action": "delete", "config_name": name, "deleted": state.delete_config(name, config_type=config_type)}
    if kind == "add":
        config = action.get("config")
        if not isinstance(config, dict):
            raise _BadRequest('add needs "config" (a detail payload)')
        state.add_config(
            config, config_type=config_type, secrets=action.get("secrets") or (), replace=bool(action.get("replace"))
        )
        return {"action": "add", "config_name": config.get("config_name")}
    if kind == "generate":
        count = action.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise _BadRequest('"count" must be a non-negative integer')
        return {"action": "generate", "config_names": state.generate_configs(count)}
    raise _BadRequest('"action" must be update, delete, add or generate')
