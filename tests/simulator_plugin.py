"""pytest plugin: the ModelArts simulator (``modelarts_sim``) as fixtures.

Loaded by ``tests/conftest.py`` (``pytest_plugins = ["tests.simulator_plugin"]``).

Fixtures (function-scoped; each test gets a fresh simulator on 127.0.0.1, port 0):

``modelarts_sim``
    A running simulator with small seed data (30 custom and 20 sample configs, seed 1). A
    :class:`RunningSimulator`: ``.url``, ``.project_id``, ``.region``, ``.state``, ``.server``,
    credentials ``.ak``, ``.sk``, ``.username``, ``.password``, ``.domain``, ``.token``, and
    ``.env(mode)`` with the ``MODELARTS_*`` variables for "aksk", "password" or "token".

``modelarts_sim_factory``
    ``modelarts_sim_factory(configs=30, samples=20, seed=1, **options)`` starts another one.
    ``options`` are credentials and settings of :class:`modelarts_sim.state.SimulatorState`
    (``project_id``, ``ak``, ``token_lifetime``, ``clock``...) and start-up faults of
    :meth:`~modelarts_sim.state.SimulatorState.configure` (``latency_ms``, ``latency_jitter_ms``,
    ``error_rate``, ``error_rate_list``, ``error_rate_detail``, ``error_status``,
    ``throttle_burst``, ``fail_list_pages``, ``faults=[{"kind": ..., ...}]``), plus ``verbose``.

Tests using either fixture get the ``simulator`` marker (``-m "not simulator"`` skips them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from modelarts_sim.faults import Fault
from modelarts_sim.server import SimulatorServer
from modelarts_sim.state import RequestRecord, SimulatorState

_STATE_OPTIONS = frozenset(
    {"project_id", "region", "ak", "sk", "username", "password", "domain", "token", "token_lifetime", "clock"}
)
_FIXTURES = frozenset({"modelarts_sim", "modelarts_sim_factory"})


@dataclass(slots=True)
class RunningSimulator:
    """A simulator serving on loopback, with shortcuts to its state and credentials."""

    server: SimulatorServer
    state: SimulatorState

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def project_id(self) -> str:
        return self.state.project_id

    @property
    def region(self) -> str:
        return self.state.region

    @property
    def configs_url(self) -> str:
        """``{url}/v1/{project_id}/training-job-configs``."""
        return f"{self.url}/v1/{self.project_id}/training-job-configs"

    @property
    def ak(self) -> str:
        return self.state.ak

    @property
    def sk(self) -> str:
        return self.state.sk

    @property
    def username(self) -> str:
        return self.state.username

    @property
    def password(self) -> str:
        return self.state.password

    @property
    def domain(self) -> str:
        return self.state.domain

    @property
    def token(self) -> str:
        return self.state.token

    def env(self, mode: str = "aksk") -> dict[str, str]:
        """``MODELARTS_*`` variables for auth mode "aksk", "password" or "token"."""
        return self.state.env(mode, self.url)

    def requests(self, endpoint: str | None = None, *, method: str | None = None) -> list[RequestRecord]:
        """The request log (see :class:`modelarts_sim.state.RequestRecord`)."""
        return self.state.requests(endpoint, method=method)

    def add_fault(self, kind: str, **spec: Any) -> Fault:
        return self.state.add_fault(kind, **spec)

    def stop(self) -> None:
        self.server.stop()


def start_simulator(
    *, configs: int = 30, samples: int = 20, seed: int = 1, verbose: bool = False, **options: Any
) -> RunningSimulator:
    """Start a simulator (what the fixtures use); the caller stops it."""
    state_options = {k: options.pop(k) for k in list(options) if k in _STATE_OPTIONS}
    state = SimulatorState(configs=configs, samples=samples, seed=seed, **state_options)
    state.configure(**options)
    server = SimulatorServer(state, verbose=verbose).start()
    return RunningSimulator(server, state)


@pytest.fixture
def modelarts_sim_factory() -> Iterator[Callable[..., RunningSimulator]]:
    """Start simulators with custom data, credentials or faults; all stop after the test."""
    started: list[RunningSimulator] = []

    def factory(**kwargs: Any) -> RunningSimulator:
        simulator = start_simulator(**kwargs)
        started.append(simulator)
        return simulator

    yield factory
    for simulator in started:
        simulator.stop()


@pytest.fixture
def modelarts_sim(modelarts_sim_factory: Callable[..., RunningSimulator]) -> RunningSimulator:
    """A running simulator with 30 custom and 20 sample configs (seed 1)."""
    return modelarts_sim_factory()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simulator: talks to the ModelArts simulator over loopback")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.simulator)
