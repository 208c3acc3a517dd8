"""Where the latency probe's sampler binary comes from: the installed one, or one built from sampler.c.

A package installs it as INSTALLED (built at package build time). Elsewhere (a git checkout,
pip) it is compiled once with the system C compiler into a private cache directory, named by
the source's hash so that a changed sampler.c is rebuilt. The helper runs as root, so a cached
binary is executed only when it and its directory belong to us and nobody else can write them;
otherwise it is built again. SamplerError says why there is no sampler (no compiler, a failed
build); the helper then runs without the probe and `doctor` shows the reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from smoothdesk.telemetry.schema import StoreError

SOURCE = Path(__file__).with_name("sampler.c")
INSTALLED = Path("/usr/libexec/smoothdesk/smoothdesk-sampler")
COMPILE_TIMEOUT_S = 60.0


class SamplerError(StoreError):
    """No sampler binary can be had; the message says why."""


def default_cache() -> Path:
    """Where a built sampler is kept: /var/cache/smoothdesk for root, the user's cache dir otherwise."""
    if os.geteuid() == 0:
        return Path("/var/cache/smoothdesk")
    import platformdirs  # only when building: the helper's start-up does not pay for it otherwise

    return Path(platformdirs.user_cache_dir("smoothdesk"))


def _private(path: Path) -> bool:
    st = path.stat()
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def sampler_binary(cache_dir: Path, installed: Path = INSTALLED, compiler: str | None = None) -> Path:
    """The sampler to run: `installed` if present, else a cached or freshly compiled build."""
    if installed.is_file() and os.access(installed, os.X_OK):
        return installed
    try:
        source_hash = _digest()
    except OSError as exc:
        raise SamplerError(f"no sampler: {installed} is not installed and {SOURCE} is unreadable") from exc
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        # No usable home (a system user such as nobody): a per-uid directory in /tmp, used only if
        # it is ours alone (checked below), so nobody else can plant a binary there.
        cache_dir = Path(tempfile.gettempdir()) / f"smoothdesk-{os.geteuid()}"
    target = cache_dir / f"smoothdesk-sampler-{source_hash}"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if target.is_file() and _private(cache_dir) and _private(target):
            return target
        if not _private(cache_dir):
            raise SamplerError(f"no sampler: {cache_dir} is writable by others; not building there")
    except OSError as exc:
        raise SamplerError(f"no sampler: cannot use {cache_dir}: {exc}") from exc
    return _build(target, compiler)


def _build(target: Path, compiler: str | None) -> Path:
    cc = compiler or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SamplerError(f"no sampler: {INSTALLED} is not installed and there is no C compiler to build it")
    fd, name = tempfile.mkstemp(prefix=".sampler-", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        done = subprocess.run(
            [cc, "-O2", "-o", str(tmp), str(SOURCE)],
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["(no output)"])[0]
            raise SamplerError(f"no sampler: {cc} could not build {SOURCE.name}: {first}")
        tmp.chmod(0o700)
        tmp.replace(target)  # atomic: two helpers building at once both end with a whole file
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SamplerError(f"no sampler: building {SOURCE.name} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target
