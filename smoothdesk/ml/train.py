"""smoothdesk-train: the offline ranker trainer (arrives with the telemetry work)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print(
        "smoothdesk-train: not available in this version: the helper does not record the "
        "snapshot history the trainer learns from yet. The policy uses rules only.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
