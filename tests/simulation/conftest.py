"""The simulation's model asserts in a module of its own: have pytest explain those asserts too."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.simulation.model")
