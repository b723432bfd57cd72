"""Sandbox upstream: a simulator of the sieulike API v2 to develop and test against, standard
library only. The test suite serves it over real HTTP on loopback; `make run` starts it with
``python -m panel.sandbox``.

Rooms: ``simulator`` (the Sandbox and its controls), ``book`` (the account's orders and how
they move on with the clock), ``actions`` (the API's seven actions), ``faults`` (fault
switches), ``messy`` (messy answers), ``server`` and ``control`` (HTTP, ``/_sandbox/``),
``state`` (the state on disk), ``catalog`` and ``demo`` (services), ``model`` (records).
"""

from __future__ import annotations

from .faults import FAULT_KINDS
from .model import DEFAULT_BALANCE, DEFAULT_KEY, SandboxCall, SandboxOrder, SandboxRefill
from .server import SandboxServer
from .simulator import Sandbox

__all__ = [
    "DEFAULT_BALANCE",
    "DEFAULT_KEY",
    "FAULT_KINDS",
    "Sandbox",
    "SandboxCall",
    "SandboxOrder",
    "SandboxRefill",
    "SandboxServer",
]
