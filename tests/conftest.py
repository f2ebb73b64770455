"""Test configuration: Hypothesis profiles.

``ci`` (the default) is bounded and derandomized so that ``.ci/run`` is fast and repeatable;
``thorough`` is for deep local runs: ``HYPOTHESIS_PROFILE=thorough python -m pytest``
(or ``python -m pytest --hypothesis-profile=thorough``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The truth cache and the case cache (spec 7.8) are off in the tests: no test may depend on
# entries an earlier run left behind. Tests of the caches point them at a temporary directory.
os.environ["LINTRA_TRUTH_CACHE"] = "off"
