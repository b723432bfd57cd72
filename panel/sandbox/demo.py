"""The second demo provider's catalog (issue 17): a small shop billing in USD.

Three services overlap the main sandbox's catalog (same kind, limits at least as wide, the same
drip-feed and refill support) so `demo_providers` can make them backups; one is its own. Prices are
per 1000 in USD; at the demo's rate of 25,000 VND per USD each overlapping service costs a little
less than its original, so a failover is never sold at a loss.
"""

from __future__ import annotations

from typing import Any, Final

DEMO_USD_RATE: Final = "25000"

# (this provider's id, the main sandbox's id it stands in for)
DEMO_BACKUPS: Final = ((9101, 101), (9102, 102), (9104, 104))

USD_CATALOG: Final[list[dict[str, Any]]] = [
    {
        "service": 9101,
        "name": "TikTok Likes - Worldwide - 30 days refill",
        "type": "Default",
        "rate": "0.0001",
        "min": 10,
        "max": 500000,
        "dripfeed": False,
        "refill": True,
        "days_refill": 30,
        "cancel": False,
        "avg_time_min": 10,
        "status": "normal",
        "category": "TikTok - Tim",
        "description": "Backup provider (USD).",
        "priority": False,
    },
    {
        "service": 9102,
        "name": "TikTok Likes - Vietnam - Fast",
        "type": "Default",
        "rate": "0.0004",
        "min": 10,
        "max": 100000,
        "dripfeed": True,
        "refill": False,
        "days_refill": 0,
        "cancel": True,
        "avg_time_min": 20,
        "status": "normal",
        "category": "TikTok - Tim",
        "description": "Backup provider (USD).",
        "priority": False,
    },
    {
        "service": 9104,
        "name": "TikTok Followers - Vietnam - 30 days refill",
        "type": "Default",
        "rate": "0.0012",
        "min": 50,
        "max": 50000,
        "dripfeed": False,
        "refill": True,
        "days_refill": 30,
        "cancel": True,
        "avg_time_min": 200,
        "status": "normal",
        "category": "TikTok - Follow",
        "description": "Backup provider (USD).",
        "priority": False,
    },
    {
        "service": 9300,
        "name": "Threads Followers - Worldwide",
        "type": "Default",
        "rate": "0.0020",
        "min": 100,
        "max": 10000,
        "dripfeed": False,
        "refill": False,
        "days_refill": 0,
        "cancel": False,
        "avg_time_min": 60,
        "status": "normal",
        "category": "Threads - Follow",
        "description": "Only at the USD provider.",
        "priority": False,
    },
]
