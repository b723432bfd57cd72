"""The sandbox from the command line: ``python -m panel.sandbox --port 8001 --time-scale 30
--state var/sandbox-state.json``, as `make run` starts it (``--help`` lists every option)."""

from __future__ import annotations

import argparse
import signal
from decimal import Decimal

from .demo import USD_CATALOG
from .model import CURRENCY, DEFAULT_BALANCE, DEFAULT_KEY
from .server import SandboxServer
from .simulator import Sandbox


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m panel.sandbox", description="Sandbox sieulike API v2 upstream."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--key", default=DEFAULT_KEY)
    parser.add_argument("--balance", default=str(DEFAULT_BALANCE))
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second (0 freezes the clock; 60 = a minute a second)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--currency", default=CURRENCY, help="the currency it bills in")
    parser.add_argument(
        "--catalog",
        choices=["main", "usd-demo"],
        default="main",
        help="usd-demo: the small USD catalog of the second demo provider (issue 17)",
    )
    parser.add_argument(
        "--state",
        default=None,
        help="a JSON file that keeps the orders, balance and clock across restarts "
        "(read at start if it exists, written after every change)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    sandbox = Sandbox(
        key=args.key,
        balance=Decimal(args.balance),
        time_scale=args.time_scale,
        currency=args.currency,
        services=USD_CATALOG if args.catalog == "usd-demo" else None,
    )
    if args.state:
        if sandbox.restore(args.state):
            print(f"sandbox upstream: state restored from {args.state}", flush=True)
        sandbox.state_path = args.state

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt  # honcho stops with SIGTERM: save the clock on the way out

        signal.signal(signal.SIGTERM, stop)

    def announce(server: SandboxServer) -> None:
        print(
            f"sandbox upstream: {server.url} (key {args.key!r}, {len(sandbox.services)} services, "
            f"time x{args.time_scale:g}); controls under {server.base_url}/_sandbox/",
            flush=True,
        )

    SandboxServer(sandbox, verbose=args.verbose).serve_forever(args.host, args.port, ready=announce)


if __name__ == "__main__":
    main()
