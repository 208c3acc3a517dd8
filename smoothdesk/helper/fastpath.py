"""React to exec/fork events between ticks, so a new hog is demoted within milliseconds."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.netlink import ProcConnector

if TYPE_CHECKING:
    from smoothdesk.helper.daemon import Daemon

log = logging.getLogger(__name__)


class FastPath:
    """Reads proc-connector events and tells the daemon, which decides and acts only for the
    groups of new processes."""

    def __init__(self, daemon: Daemon, connector: ProcConnector) -> None:
        self.d = daemon
        self.connector = connector

    def on_readable(self) -> None:
        d = self.d
        try:
            events = self.connector.read_events()
        except (OSError, CollectorError) as exc:
            # The periodic rescan catches up with whatever the connector could not tell us.
            log.debug("proc connector: %s", exc)
            return
        if not d.accepts_events:
            return
        now = time.monotonic()
        new: set[int] = set()
        forks: list[tuple[int, int, int]] = []
        for ev in events:
            if ev.kind == "exec":
                new.add(ev.pid)
            elif ev.kind == "fork":
                # A forked child inherits its parent's nice, policy and cgroup from the kernel;
                # it only needs a decision of its own once it execs, so read it at the next tick.
                d.process_forked(ev.child_pid)
                forks.append((ev.pid, ev.child_pid, ev.parent_tid))
            elif ev.kind == "exit":
                new.discard(ev.pid)
                d.process_exited(ev.pid)
            elif ev.kind == "overflow":
                d.lost_events()
        if forks:
            d.adopt_forks(forks)
        if new:
            d.new_processes(new, now)
