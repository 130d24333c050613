"""Fault injection: what can go wrong, on which endpoint, how often and how many times.

A :class:`Fault` is a kind, its parameters, the endpoint it is limited to, a probability
(``rate``) and an optional number of occurrences (``count``; ``None`` = until removed). Faults are
kept by :class:`modelarts_sim.state.SimulatorState` and drawn by the WSGI app at the right step of
each request. The same JSON shape is used by the Python API, the ``/_sim/faults`` control endpoint
and the command line::

    {"kind": "error", "endpoint": "list", "status": 503, "rate": 0.5, "count": 3}

Kinds (parameters and defaults in :data:`KINDS`):

==================  ===========================================================================
``latency``         sleep ``ms`` (+ up to ``jitter_ms``) before answering
``error``           answer ``status`` (500/502/503/504, or any 4xx/5xx) with the matching body
``fail_list_pages`` list requests for ``pages`` fail with ``status``; page ``-1`` = the last page
``throttle``        429 APIG.0308 with ``Retry-After`` (``count`` = burst length)
``malformed``       a body that is not JSON (an HTML error page) with ``status`` (default 200)
``truncated``       ``mode`` "content_length" (declares more bytes than sent, then closes) or
                    "half_json" (JSON cut in half, consistent Content-Length)
``is_success_false`` HTTP 200 with ``{"is_success": false, ...}``
``vanish``          detail of ``names`` (all names if empty) is 404 while the list still shows them
``down``            the connection is closed without any response (service down)
``reset``           the connection is reset (TCP RST) without any response
``slow``            sleep ``seconds`` (default 30) before answering: beyond a client's read timeout
``reject_aksk``     every AK/SK signature fails verification (401 APIG.0301)
``churn``           before each list request, ``add`` new configs and delete ``remove`` existing
                    ones: the total changes while a client is paging
==================  ===========================================================================

Endpoints: ``list``, ``detail``, ``create``, ``modify``, ``delete``, ``iam`` (the token call),
``api`` (the five config endpoints), ``any`` (``api`` plus ``iam``). Control endpoints under
``/_sim/`` are never affected. True "connection refused" (nothing listening) is a server action,
see :meth:`modelarts_sim.server.SimulatorServer.refuse_connections`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_ENDPOINTS = frozenset({"list", "detail", "create", "modify", "delete"})
ENDPOINTS = API_ENDPOINTS | {"iam", "api", "any"}

# kind -> (default endpoint, {parameter: default})
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "latency": ("any", {"ms": 0.0, "jitter_ms": 0.0}),
    "error": ("api", {"status": 503}),
    "fail_list_pages": ("list", {"pages": [1], "status": 500}),
    "throttle": ("api", {"retry_after": 2}),
    "malformed": ("api", {"status": 200}),
    "truncated": ("api", {"mode": "content_length"}),
    "is_success_false": ("api", {"error_code": "ModelArts.0010", "error_message": "Internal error."}),
    "vanish": ("detail", {"names": []}),
    "down": ("any", {}),
    "reset": ("any", {}),
    "slow": ("api", {"seconds": 30.0}),
    "reject_aksk": ("api", {}),
    "churn": ("list", {"add": 1, "remove": 0}),
}
TRUNCATE_MODES = ("content_length", "half_json")


class AbortConnection(Exception):
    """Raised by the WSGI app to drop the connection without a response (``down``/``reset``).

    The threaded server catches it and closes the socket (with RST for ``reset``).
    """

    def __init__(self, mode: str) -> None:
        super().__init__(mode)
        self.mode = mode


@dataclass(slots=True)
class Fault:
    """One injected fault. ``count`` is what is left (None: unlimited); ``fired`` what was used."""

    kind: str
    endpoint: str
    params: dict[str, Any] = field(default_factory=dict)
    count: int | None = None
    rate: float = 1.0
    id: int = 0
    fired: int = 0

    @property
    def active(self) -> bool:
        return self.count is None or self.count > 0

    def applies_to(self, endpoint: str) -> bool:
        if self.endpoint == "any":
            return endpoint in API_ENDPOINTS or endpoint == "iam"
        if self.endpoint == "api":
            return endpoint in API_ENDPOINTS
        return self.endpoint == endpoint

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "count": self.count,
            "rate": self.rate,
            "fired": self.fired,
            "active": self.active,
            **self.params,
        }


def make_fault(
    kind: str,
    *,
    endpoint: str | None = None,
    count: int | None = None,
    rate: float = 1.0,
    **params: Any,
) -> Fault:
    """Validate and build a :class:`Fault`; raise ``ValueError`` with a readable message."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    default_endpoint, defaults = KINDS[kind]
    endpoint = endpoint or default_endpoint
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; known: {', '.join(sorted(ENDPOINTS))}")
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"fault {kind!r} takes no parameter(s) {', '.join(sorted(unknown))}")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise ValueError("count must be a non-negative integer or null")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError("rate must be a number between 0 and 1")
    merged = {**defaults, **params}
    _check_params(kind, merged)
    return Fault(kind=kind, endpoint=endpoint, params=merged, count=count, rate=float(rate))


def _check_params(kind: str, params: dict[str, Any]) -> None:
    def number(name: str, minimum: float = 0) -> None:
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ValueError(f"{kind}.{name} must be a number >= {minimum}")
        params[name] = value

    if "status" in params:
        status = params["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"{kind}.status must be an HTTP status code")
        if kind in ("error", "fail_list_pages") and status < 400:
            raise ValueError(f"{kind}.status must be 4xx or 5xx")
    if kind == "latency":
        number("ms")
        number("jitter_ms")
    elif kind == "slow":
        number("seconds")
    elif kind == "throttle":
        number("retry_after")
        params["retry_after"] = int(params["retry_after"])
    elif kind == "churn":
        number("add")
        number("remove")
        params["add"], params["remove"] = int(params["add"]), int(params["remove"])
    elif kind == "fail_list_pages":
        pages = params["pages"]
        if isinstance(pages, int | str):
            pages = [pages]
        parsed = []
        for page in pages:
            if page in ("last", "-1", -1):
                parsed.append(-1)
            elif isinstance(page, int) and not isinstance(page, bool) and page >= 1:
                parsed.append(page)
            elif isinstance(page, str) and page.isdigit() and int(page) >= 1:
                parsed.append(int(page))
            else:
                raise ValueError("fail_list_pages.pages must be page numbers >= 1, or -1/'last' for the last page")
        params["pages"] = sorted(set(parsed))
    elif kind == "vanish":
        names = params["names"]
        if isinstance(names, str):
            names = [names]
        if not all(isinstance(n, str) for n in names):
            raise ValueError("vanish.names must be config names")
        params["names"] = list(names)
    elif kind == "truncated" and params["mode"] not in TRUNCATE_MODES:
        raise ValueError(f"truncated.mode must be one of {', '.join(TRUNCATE_MODES)}")


def fault_from_json(data: Mapping[str, Any]) -> Fault:
    """Build a fault from its JSON form (as sent to ``POST /_sim/faults``)."""
    if not isinstance(data, Mapping) or "kind" not in data:
        raise ValueError('a fault is a JSON object with at least "kind"')
    spec = {k: v for k, v in data.items() if k not in ("id", "fired", "active")}
    kind = spec.pop("kind")
    return make_fault(kind, **spec)


def parse_pages(text: str) -> list[int]:
    """Page list of the command line (``"1,3,last"``) for ``fail_list_pages``."""
    pages: list[int] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("last", "-1"):
            pages.append(-1)
        elif part.isdigit() and int(part) >= 1:
            pages.append(int(part))
        elif part:
            raise ValueError(f"not a page number: {part!r}")
    return pages
