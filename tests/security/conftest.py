"""Hypothesis keeps its caches (Unicode tables, constants) outside the working tree."""

import os
import tempfile

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), f"hypothesis-{os.getuid()}"))
