"""``manage.py modelarts_simulator``: run the ModelArts simulator in the foreground.

    python manage.py modelarts_simulator --port 8900 --configs 500 --seed 1
    python manage.py modelarts_simulator --latency 50 --latency-jitter 20 --error-rate-detail 0.05

Prints the endpoint, the project id and the ``MODELARTS_*`` lines for each auth mode, then serves
until Ctrl-C. Faults can be changed while it runs through ``/_sim/faults`` (see
:mod:`modelarts_sim.control`). Verbosity 2 logs every request.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from modelarts_sim import state as sim_state
from modelarts_sim.faults import parse_pages
from modelarts_sim.server import SimulatorServer
from modelarts_sim.state import SimulatorState


def wait_for_interrupt() -> None:
    """Block until Ctrl-C raises KeyboardInterrupt in the main thread."""
    threading.Event().wait()


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError("a rate is between 0 and 1")
    return value


class Command(BaseCommand):
    help = "Run the ModelArts training-job-configs simulator (API, IAM tokens, fault injection)."

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_argument_group("server")
        where.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        where.add_argument("--port", type=int, default=8900, help="Port (default 8900; 0: any free port).")
        seed = parser.add_argument_group("data")
        seed.add_argument("--configs", type=int, default=500, help="Custom configs to generate (default 500).")
        seed.add_argument("--samples", type=int, default=20, help="Sample configs (config_type=sample, default 20).")
        seed.add_argument("--seed", type=int, default=1, help="Seed of the generated data (default 1).")
        creds = parser.add_argument_group("credentials it accepts")
        creds.add_argument("--project-id", default=sim_state.DEFAULT_PROJECT_ID, help="Project id (32 hex).")
        creds.add_argument("--region", default=sim_state.DEFAULT_REGION, help="Project name / region id.")
        creds.add_argument("--ak", default=sim_state.DEFAULT_AK, help="Access key id for AK/SK signing.")
        creds.add_argument("--sk", default=sim_state.DEFAULT_SK, help="Secret access key.")
        creds.add_argument("--username", default=sim_state.DEFAULT_USERNAME, help="IAM user name.")
        creds.add_argument("--password", default=sim_state.DEFAULT_PASSWORD, help="IAM user password.")
        creds.add_argument("--domain", default=sim_state.DEFAULT_DOMAIN, help="IAM account (domain) name.")
        creds.add_argument("--token", default=None, help="A static X-Auth-Token to accept (default: a random one).")
        creds.add_argument(
            "--token-lifetime",
            type=float,
            default=sim_state.DEFAULT_TOKEN_LIFETIME,
            help="Validity of issued IAM tokens in seconds (default 86400).",
        )
        faults = parser.add_argument_group("faults (all can be changed later via /_sim/faults)")
        faults.add_argument("--latency", type=float, default=0, metavar="MS", help="Added latency per request.")
        faults.add_argument(
            "--latency-jitter", type=float, default=0, metavar="MS", help="Up to this much more, at random."
        )
        faults.add_argument(
            "--error-rate", type=_rate, default=0, metavar="RATE", help="Share of API requests that fail."
        )
        faults.add_argument(
            "--error-rate-list", type=_rate, default=0, metavar="RATE", help="Share of list requests that fail."
        )
        faults.add_argument(
            "--error-rate-detail", type=_rate, default=0, metavar="RATE", help="Share of detail requests that fail."
        )
        faults.add_argument(
            "--error-status",
            type=int,
            default=503,
            choices=(500, 502, 503, 504),
            help="Status of those failures (default 503).",
        )
        faults.add_argument(
            "--throttle-burst", type=int, default=0, metavar="N", help="The first N API requests get 429 APIG.0308."
        )
        faults.add_argument(
            "--fail-list-pages", default="", metavar="PAGES", help='List pages that always fail, e.g. "1" or "2,last".'
        )
        faults.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="JSON",
            help='Any fault as JSON, e.g. \'{"kind": "vanish", "names": ["x"]}\' (repeatable).',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            extra_faults = [json.loads(text) for text in options["fault"]]
            pages = parse_pages(options["fail_list_pages"])
        except ValueError as exc:
            raise CommandError(f"Bad fault option: {exc}") from None
        state = SimulatorState(
            configs=options["configs"],
            samples=options["samples"],
            seed=options["seed"],
            project_id=options["project_id"],
            region=options["region"],
            ak=options["ak"],
            sk=options["sk"],
            username=options["username"],
            password=options["password"],
            domain=options["domain"],
            token=options["token"],
            token_lifetime=options["token_lifetime"],
        )
        try:
            state.configure(
                latency_ms=options["latency"],
                latency_jitter_ms=options["latency_jitter"],
                error_rate=options["error_rate"],
                error_rate_list=options["error_rate_list"],
                error_rate_detail=options["error_rate_detail"],
                error_status=options["error_status"],
                throttle_burst=options["throttle_burst"],
                fail_list_pages=pages,
                faults=extra_faults,
            )
        except ValueError as exc:
            raise CommandError(f"Bad fault option: {exc}") from None
        server = SimulatorServer(state, host=options["host"], port=options["port"], verbose=options["verbosity"] >= 2)
        try:
            server.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror or exc}") from None
        self._banner(server, state)
        try:
            wait_for_interrupt()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        self.stdout.write("Simulator stopped.")

    def _banner(self, server: SimulatorServer, state: SimulatorState) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"ModelArts simulator listening on {server.url}"))
        out.write(f"  project id   {state.project_id} (region {state.region})")
        out.write(f"  configs      {state.count('custom')} custom, {state.count('sample')} sample (seed {state.seed})")
        faults = state.faults()
        if faults:
            out.write("  faults       " + "; ".join(_describe(f.to_json()) for f in faults))
        out.write(f"  control      {server.url}/_sim/  (faults, reset, configs, requests)")
        for mode, title in (
            ("aksk", "AK/SK signing"),
            ("password", "IAM user and password"),
            ("token", "static token"),
        ):
            out.write("")
            out.write(f"# {title}:")
            for name, value in state.env(mode, server.url).items():
                out.write(f"{name}={value}")
        out.write("")
        out.write("Ctrl-C to stop.")


def _describe(fault: dict[str, Any]) -> str:
    params = {k: v for k, v in fault.items() if k not in ("id", "kind", "fired", "active") and v is not None}
    return f"{fault['kind']}(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"
