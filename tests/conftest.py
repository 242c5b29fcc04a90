"""Settings shared by every test: a fixed hypothesis profile, and a settings home of their own.

Property tests run derandomized (the same examples on every run, seeded from
the test itself), so a run in CI is reproducible: a failure found once fails
every time until fixed, and is then kept as an ``@example`` next to the test.
``HYPOTHESIS_PROFILE=explore`` draws fresh random examples (more of them)
to look for new failures locally.
"""

from __future__ import annotations

import os

import tempfile

from hypothesis import settings

# The explorer keeps its settings (window layout, folders, confirmations) with
# QSettings under XDG_CONFIG_HOME: the tests, and the khgui processes they start,
# keep theirs in a folder of their own, never in the user's.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="khgui-test-config-")

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    print_blob=True,
)
settings.register_profile("explore", derandomize=False, database=None, deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
