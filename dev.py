#!/usr/bin/env python3
"""The two Quickstart commands, with nothing but Python 3.11+ installed.

    python3 dev.py run     # the dashboard on http://127.0.0.1:8000 with demo data
    python3 dev.py test    # the whole test suite (extra arguments go to pytest)

Both create ``.venv`` (or the folder named by ``DEV_VENV``) and install ``requirements.txt`` into
it, again whenever the file changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("DEV_VENV", ROOT / ".venv"))
REQUIREMENTS = ROOT / "requirements.txt"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create the virtualenv and install the pinned requirements when they changed."""
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed (found %d.%d)." % sys.version_info[:2])
    python = venv_python()
    if not python.exists():
        print(f"Creating virtualenv in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    stamp = VENV / ".requirements.sha256"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        print("Installing requirements.txt ...", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
        )
        stamp.write_text(digest)
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        return 2
    python = ensure_venv()
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "test":
        return subprocess.call([str(python), "-m", "pytest", *rest])
    # The demo serves with Django's development server, which serves static files in debug mode.
    env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "true")}
    return subprocess.call([str(python), "manage.py", "demo", *rest], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
