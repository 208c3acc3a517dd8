"""The rollback journal: the originals of everything we changed, as JSON written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoothdesk.actuator.errors import ActuatorError
from smoothdesk.actuator.syscalls import ThreadState
from smoothdesk.core import ProcKey

JOURNAL_NAME = "journal.json"
VERSION = 1


def default_run_dir(user_mode: bool) -> Path:
    """/run/smoothdesk for the system helper, $XDG_RUNTIME_DIR/smoothdesk in user mode."""
    if not user_mode:
        return Path("/run/smoothdesk")
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return Path(runtime) / "smoothdesk"


@dataclass(slots=True)
class ThreadRecord:
    """One thread: what it had before us, and what we set (restore only undoes our own values)."""

    orig: ThreadState
    set: ThreadState


@dataclass(slots=True)
class ProcEntry:
    """A process's thread originals; `parent` is set when it inherited a demotion by fork."""

    key: ProcKey
    uid: int
    klass: str
    threads: dict[int, ThreadRecord] = field(default_factory=dict)
    parent: ProcKey | None = None


@dataclass(slots=True)
class AutogroupEntry:
    """An autogroup's original nice; `member` is a process we saw in it (to write through)."""

    agid: int
    nice: int
    set: int
    member: ProcKey


@dataclass(slots=True)
class CgroupEntry:
    """A cgroup target's original state as the backend captured it (`parent`: as for ProcEntry)."""

    target: str
    backend: str
    klass: str
    original: dict[str, Any]
    member: ProcKey | None
    parent: ProcKey | None = None


@dataclass(slots=True)
class OomEntry:
    """A process's original oom_score_adj and ours; `role` is "protect" (lowered) or "expose" (raised)."""

    key: ProcKey
    orig: int
    set: int
    role: str


@dataclass(slots=True)
class UnitPropertyEntry:
    """A systemd unit property we set at runtime (MemoryLow=), with its original value."""

    unit: str
    prop: str
    orig: int
    set: int


@dataclass(slots=True)
class JournalData:
    procs: dict[ProcKey, ProcEntry] = field(default_factory=dict)
    autogroups: dict[int, AutogroupEntry] = field(default_factory=dict)
    cgroups: dict[str, CgroupEntry] = field(default_factory=dict)
    oom: dict[ProcKey, OomEntry] = field(default_factory=dict)
    units: dict[str, UnitPropertyEntry] = field(default_factory=dict)
    irreversible: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.procs or self.autogroups or self.cgroups or self.oom or self.units)


def _key(d: dict[str, Any] | None) -> ProcKey | None:
    return None if d is None else ProcKey(int(d["pid"]), int(d["start"]))


def _req_key(d: dict[str, Any] | None) -> ProcKey:
    if d is None:
        raise ValueError("missing process key")
    return ProcKey(int(d["pid"]), int(d["start"]))


def _kd(key: ProcKey | None) -> dict[str, int] | None:
    return None if key is None else {"pid": key.pid, "start": key.start_time}


def _parent(key: ProcKey | None) -> dict[str, Any]:
    """An inherited entry's "parent" field; none at all for our own demotions."""
    return {} if key is None else {"parent": _kd(key)}


def to_json(data: JournalData) -> dict[str, Any]:
    return {
        "version": VERSION,
        "procs": [
            {
                "key": _kd(p.key),
                "uid": p.uid,
                "klass": p.klass,
                "threads": {str(t): [list(r.orig), list(r.set)] for t, r in p.threads.items()},
                **_parent(p.parent),
            }
            for p in data.procs.values()
        ],
        "autogroups": [
            {"agid": a.agid, "nice": a.nice, "set": a.set, "member": _kd(a.member)}
            for a in data.autogroups.values()
        ],
        "cgroups": [
            {
                "target": c.target,
                "backend": c.backend,
                "klass": c.klass,
                "original": c.original,
                "member": _kd(c.member),
                **_parent(c.parent),
            }
            for c in data.cgroups.values()
        ],
        "oom": [{"key": _kd(o.key), "orig": o.orig, "set": o.set, "role": o.role} for o in data.oom.values()],
        "units": [
            {"unit": u.unit, "prop": u.prop, "orig": u.orig, "set": u.set} for u in data.units.values()
        ],
        "irreversible": data.irreversible,
    }


def from_json(obj: dict[str, Any]) -> JournalData:
    data = JournalData(irreversible=[str(s) for s in obj.get("irreversible", [])])
    for p in obj.get("procs", []):
        key = _req_key(p["key"])
        threads = {
            int(t): ThreadRecord(ThreadState(*map(int, o)), ThreadState(*map(int, s)))
            for t, (o, s) in p["threads"].items()
        }
        data.procs[key] = ProcEntry(key, int(p["uid"]), str(p["klass"]), threads, _key(p.get("parent")))
    for a in obj.get("autogroups", []):
        member = _req_key(a["member"])
        agid = int(a["agid"])
        data.autogroups[agid] = AutogroupEntry(agid, int(a["nice"]), int(a["set"]), member)
    for c in obj.get("cgroups", []):
        target = str(c["target"])
        data.cgroups[target] = CgroupEntry(
            target,
            str(c["backend"]),
            str(c["klass"]),
            dict(c["original"]),
            _key(c["member"]),
            _key(c.get("parent")),
        )
    for o in obj.get("oom", []):
        key = _req_key(o["key"])
        data.oom[key] = OomEntry(key, int(o["orig"]), int(o["set"]), str(o["role"]))
    for u in obj.get("units", []):
        unit = str(u["unit"])
        data.units[unit] = UnitPropertyEntry(unit, str(u["prop"]), int(u["orig"]), int(u["set"]))
    return data


class Journal:
    """journal.json in the run directory; every save writes a temporary file and renames it over.

    No fsync: the journal is read by a helper started again on the same boot (after a crash, or by
    the unit's --recover), and a killed process's writes are in the page cache for it; after a
    reboot the processes it names are gone. Each fsync cost the helper about 1 ms of kernel time
    on ext4, which this kernel (PREEMPT_NONE) does not preempt: traced under a compile storm in the
    app's session (bench_realload, topology a), the app's waker then waited behind the helper's
    save of a demotion, and its wake p99 went from 0.09 ms without the fsyncs to 0.3-1.9 ms.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / JOURNAL_NAME
        self.writes = 0

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> JournalData:
        """The saved data, or empty data when there is no journal."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return JournalData()
        except OSError as exc:
            raise ActuatorError(f"{self.path}: cannot read journal: {exc.strerror}") from exc
        try:
            obj = json.loads(text)
            if obj.get("version") != VERSION:
                raise ValueError(f"unsupported version {obj.get('version')!r}")
            return from_json(obj)
        except (ValueError, KeyError, TypeError) as exc:
            raise ActuatorError(f"{self.path}: unreadable journal: {exc}") from exc

    def save(self, data: JournalData) -> None:
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{JOURNAL_NAME}.{os.getpid()}.tmp")
        payload = json.dumps(to_json(data), separators=(",", ":")).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        tmp.replace(self.path)
        self.writes += 1

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
