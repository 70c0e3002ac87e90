"""The `leasecore` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from leasecore.application import DEFAULT_DATABASE_URL, LeaseApplication
from leasecore.demo import seed_demo, walk_through
from leasecore.errors import LeaseError


def database_url(given: str | None) -> str:
    return given or os.environ.get("LEASECORE_DATABASE_URL") or DEFAULT_DATABASE_URL


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leasecore", description="The credit rental platform.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="seed the demo catalog and configuration (idempotent)")
    demo.add_argument("--database-url")
    demo.add_argument("--walk", action="store_true", help="then walk one order through, step by step")
    args = parser.parse_args(argv)
    try:
        app = LeaseApplication.for_database(database_url(args.database_url))
        if args.command == "demo":
            seeded = seed_demo(app)
            print(
                f"demo catalog: {len(seeded.categories)} categories, {len(seeded.products)} products, "
                f"{len(seeded.skus)} SKUs, {seeded.units_received} new units"
            )
            print("configuration: " + ", ".join(f"{name} v{v}" for name, v in seeded.documents.items()))
            if args.walk:
                for step, line in enumerate(walk_through(app), 1):
                    print(f"{step:>2}. {line}")
        return 0
    except (LeaseError, ValueError) as error:
        print(f"leasecore: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
