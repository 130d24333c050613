"""Django settings for ``bench/load_test.py``: the deployment's settings, static files collected
into a throwaway folder.

Everything (middleware, WhiteNoise with the compressed manifest storage, the database options,
DEBUG false, the secret key and hosts from the environment) is ``dashboard.settings`` unchanged;
only ``STATIC_ROOT`` comes from ``LOAD_STATIC_ROOT`` so the load test never writes into the
project folder.
"""

import os

from dashboard.settings import *  # noqa: F403

STATIC_ROOT = os.environ["LOAD_STATIC_ROOT"]
