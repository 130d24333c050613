"""The simulator's state: configs, credentials, tokens, faults and the request log.

One :class:`SimulatorState` backs one simulated ModelArts project. It is thread-safe (one
re-entrant lock; nothing sleeps while holding it) and may be changed while a server is running,
from Python (tests) or through the ``/_sim/`` control endpoints.

Configs are seeded from ``seed`` (see :mod:`modelarts_sim.data`); only their list items are held in
memory and a detail payload is rebuilt from the seed on first use, so 100,000 configs stay cheap.
"""

from __future__ import annotations

import copy
import math
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import data
from .faults import Fault, fault_from_json, make_fault

# Defaults. The AK/SK pair is the one `manage.py demo` uses, so both commands agree.
DEFAULT_PROJECT_ID = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
DEFAULT_REGION = "sim-local-1"
DEFAULT_AK = "DEMOAK0000000000DEMO"
DEFAULT_SK = "demo-secret-key-for-the-local-simulator-only"
DEFAULT_USERNAME = "sim-user"
DEFAULT_PASSWORD = "sim-password-0000"
DEFAULT_DOMAIN = "sim-account"
DEFAULT_TOKEN_LIFETIME = 86_400  # IAM tokens are valid 24 h (§6.2)

CONFIG_TYPES = ("custom", "sample")
SORT_KEYS = ("config_name", "config_desc", "create_time")
AK_MAX_FAILURES = 5  # consecutive AK/SK failures before the AK is locked (§5.4)
AK_LOCK_SECONDS = 5 * 60
REQUEST_LOG_LIMIT = 500_000


def iso8601(epoch_seconds: float) -> str:
    """IAM's timestamp format: UTC with microseconds and ``Z`` (§6.2)."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def with_create_time(detail: Mapping[str, Any], create_time: int | None) -> dict[str, Any]:
    """``detail`` with ``create_time`` placed right after ``config_desc``, where the API puts it."""
    ordered: dict[str, Any] = {}
    for key, value in detail.items():
        if key == "create_time":
            continue
        ordered[key] = value
        if key == "config_desc" and create_time is not None:
            ordered["create_time"] = create_time
    if create_time is not None and "create_time" not in ordered:
        ordered["create_time"] = create_time
    return ordered


def make_pki_token() -> str:
    """A long opaque token in the shape of IAM's PKI tokens (``MII...``, several KB)."""
    return "MII" + secrets.token_urlsafe(2400)


@dataclass(slots=True)
class TokenInfo:
    """What the simulator knows about one X-Auth-Token."""

    issued_at: float
    expires_at: float  # math.inf for the static token until tokens are expired
    project_id: str | None  # None: domain-scoped token
    user_name: str
    static: bool = False


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the simulator saw it (control endpoints are not recorded)."""

    request_id: str
    time: float
    method: str
    path: str
    query: dict[str, str]
    endpoint: str  # list | detail | create | modify | delete | iam | projects | unknown
    auth: str  # token | aksk | none
    status: int  # 0 when the connection was dropped without a response
    config_name: str | None = None
    faults: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "endpoint": self.endpoint,
            "auth": self.auth,
            "status": self.status,
            "config_name": self.config_name,
            "faults": list(self.faults),
        }


@dataclass(slots=True)
class _Entry:
    """One stored config: its list item, and its detail (built lazily from ``index`` if None)."""

    item: dict[str, Any]
    index: int | None
    detail: dict[str, Any] | None = None


@dataclass(slots=True)
class _AccessKeyStatus:
    failures: int = 0
    locked_until: float = 0.0


@dataclass(slots=True)
class _Store:
    config_type: str
    entries: dict[str, _Entry] = field(default_factory=dict)


class SimulatorState:
    """Everything one simulated ModelArts project knows. See the module docstring.

    Args:
        configs: number of custom configs to seed.
        samples: number of sample configs (``config_type=sample``).
        seed: seed of the generated data; the same seed gives the same data.
        project_id, region: the project (32 hex) and its name (used for IAM project scope by name).
        ak, sk: the access key pair accepted for AK/SK signing (more with :meth:`add_access_key`).
        username, password, domain: the IAM user accepted by ``POST /v3/auth/tokens``.
        token: a static token accepted in ``X-Auth-Token`` (default: a new random one).
        token_lifetime: validity of issued IAM tokens, seconds.
        clock: epoch-seconds clock used for tokens, signatures and lockouts (default ``time.time``).
    """

    def __init__(
        self,
        *,
        configs: int = 30,
        samples: int = 20,
        seed: int = 1,
        project_id: str = DEFAULT_PROJECT_ID,
        region: str = DEFAULT_REGION,
        ak: str = DEFAULT_AK,
        sk: str = DEFAULT_SK,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        domain: str = DEFAULT_DOMAIN,
        token: str | None = None,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if configs < 0 or samples < 0:
            raise ValueError("configs and samples must be >= 0")
        self.seed = seed
        self.initial_configs = configs
        self.initial_samples = samples
        self.project_id = project_id
        self.region = region
        self.ak = ak
        self.sk = sk
        self.username = username
        self.password = password
        self.domain = domain
        self.token = token or make_pki_token()
        self.token_lifetime = float(token_lifetime)
        self._clock = clock or time.time
        self._clock_offset = 0.0
        self._lock = threading.RLock()
        self._access_keys: dict[str, str] = {ak: sk}
        self._ak_status: dict[str, _AccessKeyStatus] = {}
        self._tokens: dict[str, TokenInfo] = {}
        self._faults: list[Fault] = []
        self._initial_faults: list[dict[str, Any]] = []
        self._next_fault_id = 1
        self._fault_rng = random.Random(seed)
        self._requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._in_flight = 0
        self.max_in_flight = 0
        self._version = 0
        self._sorted_cache: dict[tuple[str, str, str, str], list[str]] = {}
        self._stores: dict[str, _Store] = {}
        self._secrets: set[str] = set()
        self._next_index = 0
        # Set by a running SimulatorServer so /_sim/refuse can stop and restart the listener.
        self.refuse_hook: Callable[[float | None], None] | None = None
        self._seed_data()
        self._tokens[self.token] = TokenInfo(self.now(), math.inf, project_id, username, static=True)

    @classmethod
    def seeded(cls, *, configs: int = 30, samples: int = 20, seed: int = 1, **kwargs: Any) -> SimulatorState:
        """A state with ``configs`` custom and ``samples`` sample configs from ``seed``."""
        return cls(configs=configs, samples=samples, seed=seed, **kwargs)

    # --- clock -----------------------------------------------------------------------------------

    def now(self) -> float:
        """The simulator's clock, epoch seconds (the injected clock plus :meth:`advance_clock`)."""
        return self._clock() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock forward (tokens expire, lockouts end, signatures age)."""
        with self._lock:
            self._clock_offset += seconds

    # --- seed data -------------------------------------------------------------------------------

    def _seed_data(self) -> None:
        custom = _Store("custom")
        for index, generated in data.generate_configs(self.seed, self.initial_configs, taken=set()):
            custom.entries[generated.name] = _Entry(generated.list_item(), index)
            self._secrets.update(generated.secrets)
        sample = _Store("sample")
        for index, generated in data.generate_samples(self.seed, self.initial_samples):
            sample.entries[generated.name] = _Entry(generated.list_item(), index)
        self._stores = {"custom": custom, "sample": sample}
        self._next_index = self.initial_configs
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._sorted_cache.clear()

    def _store(self, config_type: str) -> _Store:
        if config_type not in self._stores:
            raise ValueError(f"config_type must be one of {CONFIG_TYPES}")
        return self._stores[config_type]

    def _detail(self, store: _Store, entry: _Entry) -> dict[str, Any]:
        """A private copy of the entry's detail payload.

        Seeded details are rebuilt from the seed on every call instead of being cached, so reading
        all details of 100,000 configs (a full sync) does not keep them all in memory.
        """
        if entry.detail is not None:
            return copy.deepcopy(entry.detail)
        assert entry.index is not None
        name = entry.item["config_name"]
        if store.config_type == "custom":
            return data.custom_detail(self.seed, entry.index, name).detail
        return data.sample_detail(self.seed, entry.index).detail

    def secret_values(self) -> set[str]:
        """Every secret value the seed data contains (also those of deleted or generated configs).

        Tests scan pages, exports and logs for these strings: none may ever appear.
        """
        with self._lock:
            return set(self._secrets)

    def credential_values(self) -> set[str]:
        """The simulator's own credentials (SKs, password, static token); none may appear in pages."""
        with self._lock:
            return {self.password, self.token, *self._access_keys.values()}

    # --- configs ---------------------------------------------------------------------------------

    def count(self, config_type: str = "custom") -> int:
        with self._lock:
            return len(self._store(config_type).entries)

    def config_names(self, config_type: str = "custom") -> list[str]:
        """Names in insertion order."""
        with self._lock:
            return list(self._store(config_type).entries)

    def get_config(self, name: str, config_type: str = "custom") -> dict[str, Any] | None:
        """A deep copy of the detail payload (without ``is_success``), or None."""
        with self._lock:
            store = self._store(config_type)
            entry = store.entries.get(name)
            return None if entry is None else self._detail(store, entry)

    def list_item(self, name: str, config_type: str = "custom") -> dict[str, Any] | None:
        with self._lock:
            entry = self._store(config_type).entries.get(name)
            return None if entry is None else dict(entry.item)

    def list_configs(
        self,
        *,
        config_type: str = "custom",
        sort_by: str = "config_name",
        order: str = "desc",
        search: str = "",
        page: int = 1,
        per_page: int = 10,
    ) -> tuple[int, list[dict[str, Any]]]:
        """``(config_total_count, items of the page)`` with the list endpoint's semantics."""
        with self._lock:
            names = self._sorted_names(config_type, sort_by, order, search)
            start = (page - 1) * per_page
            entries = self._store(config_type).entries
            return len(names), [dict(entries[name].item) for name in names[start : start + per_page]]

    def _sorted_names(self, config_type: str, sort_by: str, order: str, search: str) -> list[str]:
        key = (config_type, sort_by, order, search.casefold())
        cached = self._sorted_cache.get(key)
        if cached is not None:
            return cached
        entries = self._store(config_type).entries
        needle = search.casefold()
        # Inferred, not confirmed by the API reference: search_content = case-insensitive substring of config_name.
        names = [name for name in entries if needle in name.casefold()] if needle else list(entries)
        # Inferred, not confirmed by the API reference: code-point order; ties break on config_name asc (§9 #5).
        names.sort()
        if sort_by == "config_name":
            if order == "desc":
                names.reverse()
        else:
            missing: Any = "" if sort_by == "config_desc" else -1

            def sort_key(name: str) -> Any:
                value = entries[name].item.get(sort_by, missing)
                return missing if value is None else value

            names.sort(key=sort_key, reverse=(order == "desc"))  # stable: name order kept within ties
        if len(self._sorted_cache) > 64:
            self._sorted_cache.clear()
        self._sorted_cache[key] = names
        return names

    def add_config(
        self,
        detail: Mapping[str, Any],
        *,
        config_type: str = "custom",
        secrets: Iterable[str] = (),
        replace: bool = False,
    ) -> None:
        """Store a config from its detail payload (``create_time`` defaults to now).

        Raises:
            ValueError: no ``config_name``, or the name exists and ``replace`` is false.
        """
        detail = copy.deepcopy(dict(detail))
        detail.pop("is_success", None)
        name = detail.get("config_name")
        if not isinstance(name, str) or not name:
            raise ValueError("a config needs a config_name")
        with self._lock:
            store = self._store(config_type)
            if name in store.entries and not replace:
                raise ValueError(f"config {name!r} exists")
            if config_type == "custom":
                detail.setdefault("create_time", int(self.now() * 1000))
            store.entries[name] = _Entry(data.list_item(detail), None, detail)
            self._secrets.update(secrets)
            self._changed()

    def update_config(self, name: str, changes: Mapping[str, Any], *, config_type: str = "custom") -> dict[str, Any]:
        """Change fields of a config (a value of None removes the field); may rename it.

        Returns the new detail. Raises ``KeyError`` if there is no such config.
        """
        with self._lock:
            store = self._store(config_type)
            entry = store.entries.get(name)
            if entry is None:
                raise KeyError(name)
            detail = self._detail(store, entry)
            for key, value in changes.items():
                if value is None:
                    detail.pop(key, None)
                else:
                    detail[key] = copy.deepcopy(value)
            new_name = detail.get("config_name") or name
            detail["config_name"] = new_name
            if new_name != name:
                if new_name in store.entries:
                    raise ValueError(f"config {new_name!r} exists")
                del store.entries[name]
            store.entries[new_name] = _Entry(data.list_item(detail), None, detail)
            self._changed()
            return copy.deepcopy(detail)

    def replace_config(self, name: str, detail: Mapping[str, Any], *, config_type: str = "custom") -> None:
        """Replace a config's payload entirely (PUT semantics), keeping its name and create_time."""
        with self._lock:
            store = self._store(config_type)
            entry = store.entries.get(name)
            if entry is None:
                raise KeyError(name)
            old = self._detail(store, entry)
            new = copy.deepcopy(dict(detail))
            new["config_name"] = name
            new = with_create_time(new, old.get("create_time"))
            store.entries[name] = _Entry(data.list_item(new), None, new)
            self._changed()

    def delete_config(self, name: str, *, config_type: str = "custom") -> bool:
        """Delete a config; False when it did not exist."""
        with self._lock:
            store = self._store(config_type)
            if store.entries.pop(name, None) is None:
                return False
            self._changed()
            return True

    def generate_configs(self, count: int) -> list[str]:
        """Add ``count`` more seeded custom configs (deterministic, continuing the seed); their names."""
        with self._lock:
            store = self._store("custom")
            names = []
            taken = set(store.entries)
            for _index, generated in data.generate_configs(self.seed, count, start=self._next_index, taken=taken):
                generated.detail["create_time"] = int(self.now() * 1000)
                store.entries[generated.name] = _Entry(generated.list_item(), None, generated.detail)
                self._secrets.update(generated.secrets)
                names.append(generated.name)
            self._next_index += count
            self._changed()
            return names

    def churn(self, *, add: int, remove: int) -> None:
        """Add and delete custom configs at random (deterministic per seed): the total moves."""
        with self._lock:
            existing = list(self._store("custom").entries)
            for name in self._fault_rng.sample(existing, min(remove, len(existing))):
                self.delete_config(name)
            if add:
                self.generate_configs(add)

    # --- credentials and tokens ------------------------------------------------------------------

    def add_access_key(self, ak: str, sk: str) -> None:
        """Accept one more AK/SK pair."""
        with self._lock:
            self._access_keys[ak] = sk

    def secret_for(self, ak: str) -> str | None:
        with self._lock:
            return self._access_keys.get(ak)

    def ak_locked(self, ak: str) -> bool:
        with self._lock:
            status = self._ak_status.get(ak)
            return status is not None and status.locked_until > self.now()

    def record_ak_failure(self, ak: str) -> None:
        """Count a failed signature; the fifth in a row locks the AK for five minutes (§5.4)."""
        with self._lock:
            status = self._ak_status.setdefault(ak, _AccessKeyStatus())
            status.failures += 1
            if status.failures >= AK_MAX_FAILURES:
                status.locked_until = self.now() + AK_LOCK_SECONDS
                status.failures = 0

    def record_ak_success(self, ak: str) -> None:
        with self._lock:
            self._ak_status.pop(ak, None)

    def issue_token(self, *, project_id: str | None) -> tuple[str, TokenInfo]:
        with self._lock:
            token = make_pki_token()
            now = self.now()
            info = TokenInfo(now, now + self.token_lifetime, project_id, self.username)
            self._tokens[token] = info
            return token, info

    def token_info(self, token: str) -> TokenInfo | None:
        with self._lock:
            return self._tokens.get(token)

    def expire_tokens(self) -> int:
        """Expire every issued token and the static token now; returns how many."""
        with self._lock:
            now = self.now()
            for info in self._tokens.values():
                info.expires_at = min(info.expires_at, now - 1)
            return len(self._tokens)

    # --- faults ----------------------------------------------------------------------------------

    def add_fault(self, kind: str, **spec: Any) -> Fault:
        """Add a fault (see :mod:`modelarts_sim.faults`), e.g. ``add_fault("error", status=503, count=2)``."""
        fault = make_fault(kind, **spec)
        return self._register(fault)

    def add_fault_json(self, spec: Mapping[str, Any]) -> Fault:
        return self._register(fault_from_json(spec))

    def _register(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = self._next_fault_id
            self._next_fault_id += 1
            self._faults.append(fault)
            return fault

    def remove_fault(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[Fault]:
        """Copies of the current faults (exhausted ones included, ``active`` False)."""
        with self._lock:
            return [copy.copy(f) for f in self._faults]

    def configure(
        self,
        *,
        latency_ms: float = 0,
        latency_jitter_ms: float = 0,
        error_rate: float = 0,
        error_rate_list: float = 0,
        error_rate_detail: float = 0,
        error_status: int = 503,
        throttle_burst: int = 0,
        fail_list_pages: Iterable[int | str] = (),
        faults: Iterable[Mapping[str, Any]] = (),
        initial: bool = True,
    ) -> list[Fault]:
        """Add faults from the start-up options (command line, fixture); ``reset()`` restores them."""
        specs: list[dict[str, Any]] = []
        if latency_ms or latency_jitter_ms:
            specs.append({"kind": "latency", "ms": latency_ms, "jitter_ms": latency_jitter_ms})
        if error_rate:
            specs.append({"kind": "error", "endpoint": "api", "rate": error_rate, "status": error_status})
        if error_rate_list:
            specs.append({"kind": "error", "endpoint": "list", "rate": error_rate_list, "status": error_status})
        if error_rate_detail:
            specs.append({"kind": "error", "endpoint": "detail", "rate": error_rate_detail, "status": error_status})
        if throttle_burst:
            specs.append({"kind": "throttle", "count": throttle_burst})
        pages = list(fail_list_pages)
        if pages:
            specs.append({"kind": "fail_list_pages", "pages": pages})
        specs.extend(dict(f) for f in faults)
        added = [self.add_fault_json(spec) for spec in specs]
        if initial:
            with self._lock:
                self._initial_faults.extend(copy.deepcopy(specs))
        return added

    def draw_faults(
        self,
        endpoint: str,
        kinds: Iterable[str],
        *,
        page: int | None = None,
        last_page: int | None = None,
        name: str | None = None,
    ) -> list[Fault]:
        """The faults of ``kinds`` that fire for this request (their counts are used up)."""
        kinds = set(kinds)
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds or not fault.active or not fault.applies_to(endpoint):
                    continue
                if fault.kind == "fail_list_pages":
                    pages = fault.params["pages"]
                    if page is None or not (page in pages or (-1 in pages and page == last_page)):
                        continue
                if fault.kind == "vanish" and fault.params["names"] and name not in fault.params["names"]:
                    continue
                if fault.rate < 1 and self._fault_rng.random() >= fault.rate:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                fault.fired += 1
                fired.append(copy.copy(fault))
        return fired

    def jitter(self, upper: float) -> float:
        with self._lock:
            return self._fault_rng.uniform(0, upper) if upper > 0 else 0.0

    # --- request log -----------------------------------------------------------------------------

    def record_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def requests(self, endpoint: str | None = None, *, method: str | None = None) -> list[RequestRecord]:
        """Recorded requests, oldest first, optionally only one endpoint / method."""
        with self._lock:
            return [
                r
                for r in self._requests
                if (endpoint is None or r.endpoint == endpoint) and (method is None or r.method == method)
            ]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self.max_in_flight = 0

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count concurrent requests (``max_in_flight`` shows the server does not serialise them)."""
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    # --- whole state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the start: seed data, start-up faults, empty log, no lockouts, clock offset 0.

        Issued tokens stay valid (a client holding one keeps working).
        """
        with self._lock:
            self._secrets.clear()
            self._seed_data()
            self._faults.clear()
            self._fault_rng = random.Random(self.seed)
            for spec in self._initial_faults:
                self.add_fault_json(spec)
            self._requests.clear()
            self._ak_status.clear()
            self._clock_offset = 0.0
            self.max_in_flight = 0

    def env(self, mode: str, url: str) -> dict[str, str]:
        """The ``MODELARTS_*`` variables that point the dashboard at this simulator at ``url``.

        Args:
            mode: "aksk", "password" (IAM user; the simulator is also the IAM endpoint) or "token".
        """
        base = {"MODELARTS_ENDPOINT": url, "MODELARTS_PROJECT_ID": self.project_id, "MODELARTS_REGION": self.region}
        if mode == "aksk":
            return {**base, "MODELARTS_AK": self.ak, "MODELARTS_SK": self.sk}
        if mode == "password":
            return {
                **base,
                "MODELARTS_IAM_ENDPOINT": url,
                "MODELARTS_DOMAIN": self.domain,
                "MODELARTS_USERNAME": self.username,
                "MODELARTS_PASSWORD": self.password,
            }
        if mode == "token":
            return {**base, "MODELARTS_TOKEN": self.token}
        raise ValueError('mode must be "aksk", "password" or "token"')

    def info(self) -> dict[str, Any]:
        with self._lock:
            return {
                "project_id": self.project_id,
                "region": self.region,
                "seed": self.seed,
                "configs": {t: len(s.entries) for t, s in self._stores.items()},
                "token_lifetime": self.token_lifetime,
                "credentials": {
                    "ak": self.ak,
                    "sk": self.sk,
                    "username": self.username,
                    "password": self.password,
                    "domain": self.domain,
                    "token": self.token,
                },
                "faults": [f.to_json() for f in self._faults],
                "requests": len(self._requests),
                "max_in_flight": self.max_in_flight,
            }
