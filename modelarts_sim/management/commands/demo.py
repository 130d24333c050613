"""``manage.py demo``: the dashboard with demo data in one command (what ``python3 dev.py run`` runs).

Migrates, starts the ModelArts simulator with demo data on 127.0.0.1 (unless the ``MODELARTS_*``
variables point at a real ModelArts project), syncs, creates a demo admin with a fresh password,
prints the login, and serves the dashboard. A background thread syncs again every few minutes so
the "data as of" banner stays current.
"""

from __future__ import annotations

import os
import secrets
import threading

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

DEMO_AK = "DEMOAK0000000000DEMO"
DEMO_SK = "demo-secret-key-for-the-local-simulator-only"


class Command(BaseCommand):
    help = "Run the dashboard with demo data: simulator, sync, demo admin, web server."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where the dashboard listens.")
        parser.add_argument("--sim-port", type=int, default=8900, help="Simulator port (0: any free port).")
        parser.add_argument("--configs", type=int, default=500, help="Demo configs in the simulator.")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the demo data.")
        parser.add_argument("--sync-every", type=int, default=300, help="Seconds between background syncs (0: never).")
        parser.add_argument("--username", default="admin", help="Demo admin user name.")
        parser.add_argument("--no-serve", action="store_true", help="Prepare everything, then exit (for scripts).")

    state = None  # the simulator's state when the demo runs one

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        if settings.MODELARTS["ENDPOINT"]:
            self.stdout.write(f"Using ModelArts at {settings.MODELARTS['ENDPOINT']} (MODELARTS_* is set).")
        else:
            self._start_simulator(options)
        from configs_app.sources import environment_source

        source = environment_source()
        self._sync(source)
        if self.state is not None:
            self._make_history(source)
        password = self._demo_admin(options["username"])
        if options["sync_every"] > 0 and not options["no_serve"]:
            self._sync_periodically(source, options["sync_every"])
        url = f"http://{options['addrport']}/"
        banner = [
            "",
            "=" * 64,
            f"  ModelArts Config Dashboard: {url}",
            f"  Log in as  {options['username']}  /  {password}",
            "=" * 64,
            "",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(banner)))
        if options["no_serve"]:
            return
        call_command("runserver", options["addrport"], use_reloader=False)

    def _start_simulator(self, options) -> None:
        from modelarts_sim.server import SimulatorServer
        from modelarts_sim.state import SimulatorState

        state = SimulatorState.seeded(configs=options["configs"], seed=options["seed"], ak=DEMO_AK, sk=DEMO_SK)
        self.state = state
        try:
            server = SimulatorServer(state, host="127.0.0.1", port=options["sim_port"]).start()
        except OSError as exc:
            raise CommandError(f"Cannot start the simulator on port {options['sim_port']}: {exc.strerror}") from None
        # The environment source reads these; AK/SK so that every demo request is really signed.
        settings.MODELARTS.update(ENDPOINT=server.url, PROJECT_ID=state.project_id, REGION="sim-local-1")
        os.environ[settings.MODELARTS_SECRET_ENV["AK"]] = DEMO_AK
        os.environ[settings.MODELARTS_SECRET_ENV["SK"]] = DEMO_SK
        self.stdout.write(
            f"ModelArts simulator with {options['configs']} demo configs at {server.url} (project {state.project_id})."
        )

    def _sync(self, source) -> None:
        from configs_app.sync import SyncAlreadyRunning, configs_sync

        try:
            result = configs_sync(source=source, trigger="demo")
        except SyncAlreadyRunning as exc:
            self.stdout.write(self.style.WARNING(str(exc)))
            return
        c = result.counts
        style = self.style.SUCCESS if result.exit_code == 0 else self.style.WARNING
        self.stdout.write(
            style(
                f"Sync {result.status} in {result.duration:.1f}s: {c['listed']} listed, {c['created']} new, "
                f"{c['updated']} changed, {c['deleted']} deleted upstream."
                + (f" {result.error}" if result.error else "")
            )
        )

    def _make_history(self, source) -> None:
        """Change a few demo configs upstream and sync again, so detail pages have a history to show
        and the table has configs deleted upstream."""
        names = self.state.config_names()
        for index, name in enumerate(names[1:61:6]):
            detail = self.state.get_config(name)
            parameters = list(detail.get("parameter") or [])
            parameters.append({"label": "learning_rate", "value": f"0.00{index + 1}"})
            self.state.update_config(
                name,
                {
                    "config_desc": (detail.get("config_desc") or "") + " (tuned)",
                    "worker_server_num": (detail.get("worker_server_num") or 1) * 2,
                    "parameter": parameters,
                },
            )
        for name in names[-3:]:
            self.state.delete_config(name)
        self._sync(source)

    def _demo_admin(self, username: str) -> str:
        """Create or reset the demo admin; a new random password every run."""
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        group = Group.objects.filter(name="Config viewers").first()
        if group:
            user.groups.add(group)
        return password

    def _sync_periodically(self, source, every: int) -> None:
        def loop() -> None:
            stop = threading.Event()
            while not stop.wait(every):
                try:
                    self._sync(source)
                finally:
                    connection.close()

        threading.Thread(target=loop, name="demo-sync", daemon=True).start()
