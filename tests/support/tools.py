"""Skip a test for a missing system tool, except under `make test`, where that is a missing install step.

`make test` installs every tool the tests use and sets SMOOTHDESK_REQUIRE_TOOLS=1, so there a missing
tool fails the collection with the package to add, instead of a skip that CI would pass silently.
A developer running pytest by hand without the desktop packages still gets skips.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest


def needs(missing: Sequence[str], what: str) -> pytest.MarkDecorator:
    """A skipif mark for tests that need the tools in `missing` (empty: all present)."""
    if missing and os.environ.get("SMOOTHDESK_REQUIRE_TOOLS") == "1":
        pytest.fail(
            f"{what} needs {', '.join(missing)}, which make test should have installed "
            "(see APT_PACKAGES/APT_DESKTOP in the Makefile)",
            pytrace=False,
        )
    return pytest.mark.skipif(bool(missing), reason=f"{what} needs {', '.join(missing)}")
