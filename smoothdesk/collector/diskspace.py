"""How full each real filesystem is, for the "disk full" alert."""

from __future__ import annotations

import os
from pathlib import Path

# Filesystems that are not storage a person can fill: kernel views, memory-backed or read-only images.
VIRTUAL = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "securityfs", "pstore",
        "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs", "bpf", "autofs", "binfmt_misc",
        "squashfs", "iso9660", "nsfs", "rpc_pipefs", "efivarfs", "ramfs", "fuse.portal", "fuse.gvfsd-fuse",
    }
)  # fmt: skip


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash in octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def real_mounts(mounts: Path = Path("/proc/self/mounts")) -> list[str]:
    """Mount points of storage filesystems, each device once (bind mounts and btrfs subvolumes repeat)."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return []
    seen: set[str] = set()
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[2] in VIRTUAL or parts[0] in seen or "ro" in parts[3].split(","):
            continue  # a read-only mount is full by design, not a disk filling up
        seen.add(parts[0])
        out.append(_unescape(parts[1]))
    return out


def used_percent(mount: str) -> float | None:
    """Percent of the space an unprivileged user could use that is used (as df shows it)."""
    try:
        st = os.statvfs(mount)
    except OSError:
        return None
    used = st.f_blocks - st.f_bfree
    usable = used + st.f_bavail
    return 100.0 * used / usable if usable > 0 else None


def disk_usage(mounts: Path = Path("/proc/self/mounts")) -> dict[str, float]:
    """Mount point -> percent used, for every real filesystem that answers statvfs."""
    out = {}
    for mount in real_mounts(mounts):
        percent = used_percent(mount)
        if percent is not None:
            out[mount] = percent
    return out
