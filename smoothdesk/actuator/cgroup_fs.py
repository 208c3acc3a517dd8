"""Direct cgroupfs backends: move demoted processes into <root>/smoothdesk/<class> (v1 and v2).

Why a move and not a weight on the process's own cgroup: a weight only ranks a cgroup against
its siblings (the same flaw as nice inside one autogroup), so weighting a leaf deep in another
manager's tree does little. A group directly under the root competes where the CPU is shared.
On v1 the move has a second effect, measured by bench/bench_levers.py: autogroup only applies
to tasks in the root cpu cgroup, so a moved hog leaves its session's autogroup and a hog in
another session can no longer claim an equal share. `cpu.idle=1` makes the group's entity
SCHED_IDLE-like, so a waking normal task preempts it at once.
The original cgroup path of each process is journaled; restore moves it back (or to the nearest
ancestor that still exists), and a clean stop removes our empty groups.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smoothdesk.actuator.cgroups import CgroupBackend, JsonDict
from smoothdesk.actuator.errors import ActuatorError
from smoothdesk.actuator.levers import LeverSet
from smoothdesk.actuator.prefix import read_prefix
from smoothdesk.core import PriorityClass, ProcessRecord, ProcKey


def default_prefix() -> str:
    """The group prefix (actuator.prefix); ActuatorError when $SMOOTHDESK_CGROUP_PREFIX is bad."""
    try:
        return read_prefix()
    except ValueError as exc:
        raise ActuatorError(str(exc)) from None


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _ids(path: Path) -> list[int]:
    try:
        return [int(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []  # no such group (never made), or this file does not exist in this version


def _tgid(tid: int, proc_root: Path) -> int:
    """The process a task id belongs to (0 when it is gone)."""
    try:
        for line in (proc_root / str(tid) / "status").read_text().splitlines():
            if line.startswith("Tgid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _MovingBackend(CgroupBackend):
    """Shared by v1 and v2: one group per demoted class under `mount/prefix`."""

    def __init__(self, mount: Path, *, proc_root: Path = Path("/proc"), prefix: str | None = None) -> None:
        self.mount = mount
        self.proc_root = proc_root
        self.prefix = (prefix or default_prefix()).strip("/")
        self._configured: dict[PriorityClass, LeverSet] = {}

    def _matches(self, controllers: str, hierarchy_id: str) -> bool:
        raise NotImplementedError

    def _configure(self, group: Path, levers: LeverSet) -> None:
        raise NotImplementedError

    def _setup_parent(self, parent: Path) -> None:
        """Prepare the prefix group before its first child is created."""

    def current_path(self, pid: int) -> str:
        """The process's path in this hierarchy, from /proc/PID/cgroup."""
        try:
            lines = (self.proc_root / str(pid) / "cgroup").read_text().splitlines()
        except (FileNotFoundError, ProcessLookupError):
            raise ProcessLookupError(errno.ESRCH, f"no process {pid}") from None
        for line in lines:
            hid, controllers, path = line.split(":", 2)
            if self._matches(controllers, hid):
                return path
        raise OSError(errno.ENOENT, f"process {pid} has no cgroup in {self.mount}")

    def class_path(self, klass: PriorityClass) -> str:
        return f"/{self.prefix}/{klass.value}"

    def class_of(self, path: str) -> PriorityClass | None:
        """The class whose group `path` is; None for any group not ours."""
        return next((k for k in PriorityClass if path == self.class_path(k)), None)

    def swept_pids(self) -> set[int]:
        """Every process with a task in one of our groups: cgroup.procs, plus the thread group of
        each task listed alone (v1 `tasks`, v2 `cgroup.threads`), for crash recovery to find
        the processes that were born in them."""
        found: set[int] = set()
        for klass in PriorityClass:
            group = self.mount / self.class_path(klass).lstrip("/")
            found.update(_ids(group / "cgroup.procs"))
            for name in ("tasks", "cgroup.threads"):
                lone = [t for t in _ids(group / name) if t not in found]
                found.update(g for g in (_tgid(t, self.proc_root) for t in lone) if g)
        return found

    def target(self, record: ProcessRecord) -> str | None:
        return f"pid:{record.pid}@{record.start_time}"

    def capture(self, target: str, record: ProcessRecord) -> JsonDict:
        return {"path": self.current_path(record.pid)}

    def _group(self, klass: PriorityClass, levers: LeverSet) -> Path:
        group = self.mount / self.class_path(klass).lstrip("/")
        if self._configured.get(klass) != levers or not group.is_dir():
            parent = group.parent
            if not parent.is_dir():
                parent.mkdir()
                self._setup_parent(parent)
            group.mkdir(exist_ok=True)
            self._configure(group, levers)
            self._configured[klass] = levers
            self._configure(parent, self._parent_levers())
        return group

    def _parent_levers(self) -> LeverSet:
        """Our prefix group competes at the root for all its children together.

        It is always `cpu.idle=1`: demoted work then yields at once to any waking task outside
        it, in either topology (measured with bench_responsiveness: a merely low-weighted parent
        is preempted only at the end of its slice, 4-5x the SCHED_FIFO p99 across sessions),
        while the children's weights still rank background above idle inside it. An idle
        entity keeps a minimum weight, so idle work still makes progress.
        """
        classes = list(self._configured.values())
        ios = [lv.io_weight or 100 for lv in classes]
        return LeverSet(cpu_idle=True, io_weight=max(ios) if ios else None)

    def demote(self, target: str, record: ProcessRecord, klass: PriorityClass, levers: LeverSet) -> None:
        if self.current_path(record.pid) == self.class_path(klass):
            return
        group = self._group(klass, levers)
        _write(group / "cgroup.procs", str(record.pid))

    def restore(self, target: str, original: Mapping[str, Any], member: ProcKey | None) -> None:
        if member is None:
            return
        dest = self.mount / str(original.get("path", "/")).lstrip("/")
        while not dest.is_dir() and dest != self.mount:
            dest = dest.parent
        _write(dest / "cgroup.procs", str(member.pid))

    def describe(self, record: ProcessRecord, klass: PriorityClass, levers: LeverSet) -> str:
        return f"{self.name}: move {record.pid} into {self.mount}{self.class_path(klass)}"

    def close(self, *, clean: bool) -> None:
        if not clean:
            return
        base = self.mount / self.prefix
        for child in (base / k.value for k in PriorityClass):
            # Still populated (ENOTEMPTY/EBUSY) or never made: leave it.
            with contextlib.suppress(OSError):
                child.rmdir()
        with contextlib.suppress(OSError):
            base.rmdir()
        self._configured.clear()


class CgroupV1Backend(_MovingBackend):
    """cgroup v1 cpu hierarchy: cpu.shares = weight * 1024 / 100, and cpu.idle."""

    name = "cgroup-v1"

    def __init__(
        self,
        mount: Path = Path("/sys/fs/cgroup/cpu"),
        *,
        proc_root: Path = Path("/proc"),
        prefix: str | None = None,
        block_root: Path = Path("/sys/block"),
    ) -> None:
        super().__init__(mount, proc_root=proc_root, prefix=prefix)
        self.block_root = block_root

    def _matches(self, controllers: str, hierarchy_id: str) -> bool:
        return hierarchy_id != "0" and "cpu" in controllers.split(",")

    def _configure(self, group: Path, levers: LeverSet) -> None:
        # The kernel refuses cpu.shares on an idle group (EINVAL), so order the two writes.
        shares = None if levers.cpu_weight is None else max(2, levers.cpu_weight * 1024 // 100)
        idle = group / "cpu.idle"
        if not levers.cpu_idle and idle.exists():
            _write(idle, "0")
        if shares is not None:
            _write(group / "cpu.shares", str(shares))
        if levers.cpu_idle:
            _write(idle, "1")

    def capabilities(self) -> dict[str, str]:
        caps = {"cpu.shares": "yes", "cpu.idle": "yes" if (self.mount / "cpu.idle").exists() else "no"}
        bfq = []
        for sched in sorted(self.block_root.glob("*/queue/scheduler")):
            try:
                if "[bfq]" in sched.read_text():
                    bfq.append(sched.parent.parent.name)
            except OSError:
                continue
        # v1 blkio.weight is honoured by bfq only; recorded for doctor, never relied on.
        caps["blkio.weight"] = f"yes ({', '.join(bfq)})" if bfq else "no: no disk uses bfq"
        return caps


class CgroupV2Backend(_MovingBackend):
    """Unified hierarchy without systemd: cpu.weight, cpu.idle and io.weight on our groups."""

    name = "cgroup-v2"

    def _matches(self, controllers: str, hierarchy_id: str) -> bool:
        return hierarchy_id == "0"

    def _setup_parent(self, parent: Path) -> None:
        for where in (self.mount, parent):
            try:
                _write(where / "cgroup.subtree_control", "+cpu +io")
            except OSError:
                # io may be absent; a missing cpu shows up as a failed weight write.
                with contextlib.suppress(OSError):
                    _write(where / "cgroup.subtree_control", "+cpu")

    def _configure(self, group: Path, levers: LeverSet) -> None:
        if levers.cpu_weight is not None:
            _write(group / "cpu.weight", str(levers.cpu_weight))
        if levers.cpu_idle is not None:
            _write(group / "cpu.idle", "1" if levers.cpu_idle else "0")
        if levers.io_weight is not None:
            # io.weight needs bfq or io.cost; the cpu levers still count without it.
            with contextlib.suppress(OSError):
                _write(group / "io.weight", f"default {levers.io_weight}")

    def capabilities(self) -> dict[str, str]:
        try:
            controllers = (self.mount / "cgroup.controllers").read_text().split()
        except OSError:
            controllers = []
        return {c: "yes" if c in controllers else "no" for c in ("cpu", "io")}
