"""The .deb for the packaging tests: built once per source state, installed into a throwaway root.

The root is an overlay of this machine's / with a tmpfs on top, chrooted into: dpkg, its maintainer
scripts and triggers run for real there with the host's packages (make test installed them), and
every file the package or its scripts add, change or delete shows up in the tmpfs, so "purge leaves
nothing behind" is a listing of that layer, not a guess. The host itself is never touched.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.support import reaper
from tests.support.users import REPO, drop_to_nobody

BUILD = REPO / "scripts/build-deb.sh"
TOOLS = ("dpkg-buildpackage", "dh", "dh_virtualenv", "lintian")
# The layer's paths that dpkg and the triggers of other packages own: its database and logs, and
# the caches that the man-db, hicolor and desktop-file-utils triggers rebuild on install and purge.
SHARED_STATE = (
    "var/lib/dpkg/",
    "var/log/",
    "var/cache/man/",
    "var/cache/debconf/",
    "usr/share/icons/hicolor/icon-theme.cache",
    "usr/share/applications/mimeinfo.cache",
    "tmp/",
    "root/",
)


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def version_and_arch() -> tuple[str, str]:
    version = subprocess.run(
        ["dpkg-parsechangelog", "-S", "Version"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    arch = subprocess.run(
        ["dpkg-architecture", "-qDEB_HOST_ARCH"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return version, arch


def built_deb() -> Path:
    """dist/smoothdesk_<version>_<arch>.deb of the current files: reused when dist/.deb-inputs says
    it was built from exactly these, else built now with scripts/build-deb.sh (`make deb`)."""
    given = os.environ.get("SMOOTHDESK_DEB")  # a .deb built elsewhere (CI artefact, by hand)
    if given:
        return Path(given).resolve()
    version, arch = version_and_arch()
    deb = REPO / "dist" / f"smoothdesk_{version}_{arch}.deb"
    stamp = REPO / "dist" / ".deb-inputs"
    current = subprocess.run(
        ["sh", str(BUILD), "--inputs"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    if deb.is_file() and stamp.is_file() and stamp.read_text().strip() == current:
        return deb
    result = subprocess.run(
        ["sh", str(BUILD)], cwd=REPO, capture_output=True, text=True, timeout=1800, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"make deb failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    assert deb.is_file(), result.stdout
    return deb


class Lintian:
    """lintian started as soon as the .deb exists (it takes minutes), read by the last test."""

    def __init__(self, deb: Path) -> None:
        self.proc = subprocess.Popen(
            ["lintian", "--tag-display-limit", "0", "--display-info", str(deb)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd="/",
            env={**os.environ, "HOME": "/tmp"},
            preexec_fn=drop_to_nobody,  # lintian warns against running as root
        )

    def result(self) -> tuple[int, list[str]]:
        out, _ = self.proc.communicate(timeout=1500)
        return self.proc.returncode, out.splitlines()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


class Root:
    """An overlay root over /: `run` chroots into it; `layer` is what changed, relative to /."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="sd-root-"))
        self.layer_mount = self.base / "layer"
        self.path = self.base / "root"
        self.layer_mount.mkdir()
        self.path.mkdir()
        self.mounts: list[Path] = []
        # The upper layer must not lie inside the lower one (/), hence its own tmpfs.
        self._mount(["-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(self.layer_mount)], self.layer_mount)
        self.upper = self.layer_mount / "upper"
        work = self.layer_mount / "work"
        self.upper.mkdir()
        work.mkdir()
        options = f"lowerdir=/,upperdir={self.upper},workdir={work}"
        self._mount(["-t", "overlay", "-o", options, "overlay", str(self.path)], self.path)
        # The kernel's file systems, as the real root sees them (not part of the layer).
        for fs in ("proc", "sys", "dev"):
            self._mount(["--rbind", f"/{fs}", str(self.path / fs)], self.path / fs)
            subprocess.run(["mount", "--make-rslave", str(self.path / fs)], check=True)
        # A fresh /run, as at boot; the package's tmpfiles.d entry creates /run/smoothdesk there.
        self._mount(["-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(self.path / "run")], self.path / "run")

    def _mount(self, args: Sequence[str], target: Path) -> None:
        subprocess.run(["mount", *args], check=True, capture_output=True, text=True)
        self.mounts.append(target)

    def run(
        self, *argv: str, env: dict[str, str] | None = None, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["chroot", str(self.path), *argv],
            env=_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def popen(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["chroot", str(self.path), *argv],
            env=_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def file(self, path: str) -> Path:
        return self.path / path.lstrip("/")

    def changes(self) -> list[str]:
        """What differs from the host: added or changed files, new directories, deletions ('-path')."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.upper):
            for name in [*dirnames, *filenames]:
                full = Path(dirpath) / name
                rel = full.relative_to(self.upper).as_posix()
                host = Path("/") / rel
                st = full.lstat()
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    out.append("-" + rel)  # a whiteout: something of the host's was deleted
                elif stat.S_ISDIR(st.st_mode):
                    if not host.is_dir() or host.is_symlink():
                        out.append(rel + "/")
                elif not _same(full, host):
                    out.append(rel)
        return sorted(out)

    def leftovers(self) -> list[str]:
        """Changes outside dpkg's own state and the other packages' caches."""
        return [c for c in self.changes() if not c.lstrip("-").startswith(SHARED_STATE)]

    def close(self) -> None:
        """Unmount everything, then remove the (by then empty) directories: never a recursive delete,
        which through a still-mounted /dev or /sys would reach the host's."""
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-R", str(target)], check=False, capture_output=True)
        mounted = [m for m in Path("/proc/self/mountinfo").read_text().splitlines() if str(self.base) in m]
        if mounted:
            raise AssertionError(
                f"still mounted under {self.base} (a process inside?):\n" + "\n".join(mounted)
            )
        for directory in (self.path, self.layer_mount, self.base):
            directory.rmdir()


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    """A clean environment for the root, keeping the reaper's token so leftovers are still found."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    env.update({k: os.environ[k] for k in (reaper.ENV, "PYTEST_CURRENT_TEST") if k in os.environ})
    return {**env, **(extra or {})}


def _same(layer: Path, host: Path) -> bool:
    """A file copied up but put back as it was (a trigger rewrote a cache identically) is no change."""
    try:
        if layer.is_symlink() or host.is_symlink():
            return layer.is_symlink() and host.is_symlink() and os.readlink(layer) == os.readlink(host)
        if not host.is_file():
            return False
        return layer.stat().st_size == host.stat().st_size and layer.read_bytes() == host.read_bytes()
    except OSError:
        return False
