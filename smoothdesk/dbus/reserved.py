"""Who keeps a reserved share under a flood: root, the helper's own uid, the active session's user.

The active sessions come from logind's state files (/run/systemd/sessions/ID: UID=, ACTIVE=1),
which is what sd_session_is_active() reads; no bus round trip, so a flooded bus cannot delay
the answer. Re-read at most every `refresh` seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

SESSIONS = Path("/run/systemd/sessions")


def active_session_uids(root: Path = SESSIONS) -> frozenset[int]:
    uids = set()
    try:
        entries = list(root.iterdir())
    except OSError:
        return frozenset()
    for path in entries[:256]:  # a machine has a handful; never read without bound
        if path.name.endswith(".ref") or not path.is_file():
            continue
        try:
            fields = dict(
                line.split("=", 1) for line in path.read_text(errors="replace").splitlines() if "=" in line
            )
        except OSError:
            continue
        if fields.get("ACTIVE") == "1" and fields.get("UID", "").isdigit():
            uids.add(int(fields["UID"]))
    return frozenset(uids)


class Reserved:
    """Callable uid -> bool for Quotas."""

    def __init__(
        self,
        own_uid: int | None = None,
        root: Path = SESSIONS,
        refresh: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fixed = frozenset({0, os.geteuid() if own_uid is None else own_uid})
        self.root = root
        self.refresh = refresh
        self.clock = clock
        self._active: frozenset[int] = frozenset()
        self._read_at = float("-inf")

    def __call__(self, uid: int) -> bool:
        if uid in self.fixed:
            return True
        now = self.clock()
        if now - self._read_at >= self.refresh:
            self._active = active_session_uids(self.root)
            self._read_at = now
        return uid in self._active
