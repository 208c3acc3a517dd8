"""Parse /proc/PID/cgroup, find the systemd unit, and probe the machine's cgroup layout."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from smoothdesk.collector.fileio import read_text_quiet
from smoothdesk.collector.system import parse_psi
from smoothdesk.core.cgroup_layout import V1_CPU_NAMES, CgroupLayout, CgroupMode
from smoothdesk.core.snapshot import PsiFigures

_UNIT_SUFFIXES = (".scope", ".service")
# Named v1 hierarchies ("name=systemd") and the v2 mount inside a hybrid layout are
# not controllers, so they are kept out of the v1 controller list.
_NOT_CONTROLLERS = frozenset({"unified", "systemd", "elogind"})


class CgroupInfo(NamedTuple):
    """The cgroup path used for grouping and the systemd unit it names, if any."""

    path: str
    unit: str | None


def unit_of(path: str) -> str | None:
    """The last path component that is a .scope or .service unit, or None."""
    for part in reversed(path.split("/")):
        if part.endswith(_UNIT_SUFFIXES):
            return part
    return None


def parse_cgroup(text: str) -> CgroupInfo:
    """Pick the grouping path from /proc/PID/cgroup content (v1 and v2 lines).

    Preference: the v2 "0::" path if it is not the root, else the v1
    "name=systemd" path, else the v1 cpu controller path; when all of them are
    the root, the first of them that exists. Malformed lines are skipped.
    """
    v2: str | None = None
    named: str | None = None
    cpu: str | None = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, path = parts
        if hier == "0" and controllers == "":
            v2 = path
        elif "name=systemd" in controllers.split(","):
            named = path
        elif "cpu" in controllers.split(","):
            cpu = path
    candidates = [p for p in (v2, named, cpu) if p is not None]
    chosen = next((p for p in candidates if p != "/"), candidates[0] if candidates else "")
    return CgroupInfo(chosen, unit_of(chosen))


def probe_layout(sys_root: Path = Path("/sys")) -> CgroupLayout:
    """How cgroups are mounted under sys_root/fs/cgroup (the helper probes once, at start).

    Mode "v2" when the unified hierarchy is mounted there (or only at fs/cgroup/unified),
    "hybrid" when v1 hierarchies sit next to a unified one at fs/cgroup/unified, "v1" when only
    v1 hierarchies exist, "none" when nothing is mounted. The v2 controllers are those enabled
    at the unified root.
    """
    base = sys_root / "fs" / "cgroup"
    unified = next((c for c in (base, base / "unified") if (c / "cgroup.controllers").exists()), None)
    v2: tuple[str, ...] = ()
    if unified is not None:
        try:
            v2 = tuple((unified / "cgroup.controllers").read_text().split())
        except OSError:
            v2 = ()
    hierarchies = [] if unified == base or not base.is_dir() else _v1_hierarchies(base)
    mode: CgroupMode
    if unified == base:
        mode = "v2"
    elif hierarchies:
        mode = "hybrid" if unified is not None else "v1"
    else:
        mode = "v2" if unified is not None else "none"
    v1 = sorted({c for name in hierarchies for c in name.split(",") if c})
    v1_cpu = next((base / n for n in V1_CPU_NAMES if (base / n / "cpu.shares").exists()), None)
    return CgroupLayout(base, mode, unified, v2, tuple(v1), v1_cpu)


def unified_mount(sys_root: Path = Path("/sys")) -> Path | None:
    """Where the v2 hierarchy is mounted, or None (probe_layout's `unified`)."""
    return probe_layout(sys_root).unified


def read_group_pressure(group_dir: Path, resource: str = "cpu") -> dict[str, PsiFigures] | None:
    """A cgroup v2 group's own `<resource>.pressure` ("cpu.some", "cpu.full", ...).

    None (not zeros) when the file is absent: cgroup v1, PSI off, or the group is gone.
    """
    text = read_text_quiet(f"{group_dir}/{resource}.pressure")
    return None if text is None else parse_psi(resource, text)


def group_pressure(
    cgroup_path: str, resource: str = "cpu", sys_root: Path = Path("/sys")
) -> dict[str, PsiFigures] | None:
    """The pressure of the group at `cgroup_path` (as /proc/PID/cgroup's "0::" line names it).

    For the focused group: pass its leader's ProcessRecord.cgroup. None where this machine has
    no unified hierarchy or the group has no such file (see read_group_pressure).
    """
    return pressure_in(unified_mount(sys_root), cgroup_path, resource)


def pressure_in(mount: Path | None, cgroup_path: str, resource: str = "cpu") -> dict[str, PsiFigures] | None:
    """group_pressure with the unified mount already found (CgroupLayout.unified: it does not move)."""
    if mount is None or not cgroup_path.startswith("/") or "/../" in f"{cgroup_path}/":
        return None
    return read_group_pressure(mount / cgroup_path.lstrip("/"), resource)


def _v1_hierarchies(base: Path) -> list[str]:
    """Names of the v1 controller directories under base (symlinks such as cpu -> cpu,cpuacct
    are included: they name the same hierarchy)."""
    try:
        entries = [p.name for p in base.iterdir()]
    except OSError:
        return []
    return [
        name
        for name in entries
        if name not in _NOT_CONTROLLERS
        and not name.startswith("name=")
        and (base / name).is_dir()
        and not (base / name / "cgroup.controllers").exists()
    ]
