"""Settings shared by every test: a fixed hypothesis profile.

Property tests run derandomized (the same examples on every run, seeded from
the test itself), so a run in CI is reproducible: a failure found once fails
every time until fixed, and is then kept as an ``@example`` next to the test.
``HYPOTHESIS_PROFILE=explore`` draws fresh random examples (more of them)
to look for new failures locally.
"""

from __future__ import annotations

import os

from hypothesis import settings

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
