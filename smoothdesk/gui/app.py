"""smoothdesk: the tray app and session agent (its full version is a separate piece of work)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smoothdesk", description=__doc__)
    parser.add_argument("--bus", default="auto", help="bus of the helper to show")
    args = parser.parse_args(argv)
    print(
        "smoothdesk: the tray app is not part of this version yet.\n"
        f"Use 'smoothdeskctl --bus {args.bus} status --watch' for the live view.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
