from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # The catalog version lives in the (process-local) cache; tests must not see each other's.
    cache.clear()
