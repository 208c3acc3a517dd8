"""Where SmoothDesk keeps its files in root and in user mode."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

from smoothdesk.config.errors import ConfigError


def run_dir(user_mode: bool) -> Path:
    """The runtime directory for the journal: tmpfs, so a reboot forgets it (as it should)."""
    if not user_mode:
        return Path("/run/smoothdesk")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "smoothdesk"
    # No logind session (a container, su, a CI job): a private per-uid directory in /tmp. It must
    # be ours and private, or another local user could plant a journal for us to "restore".
    fallback = Path(tempfile.gettempdir()) / f"smoothdesk-{os.getuid()}"
    try:
        fallback.mkdir(mode=0o700)
    except FileExistsError:
        st = fallback.lstat()
        if fallback.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise ConfigError(fallback, "exists but is not a private directory of ours") from None
    return fallback


def state_dir(user_mode: bool) -> Path:
    """Where the snapshot log lives: kept across reboots, unlike run_dir.

    SMOOTHDESK_STATE_DIR overrides it (test suites, and running a second helper beside a real one).
    """
    override = os.environ.get("SMOOTHDESK_STATE_DIR")
    if override:
        return Path(override)
    if not user_mode:
        return Path("/var/lib/smoothdesk")
    return Path(platformdirs.user_state_dir("smoothdesk"))


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir("smoothdesk"))


def config_files(user_mode: bool) -> list[Path]:
    """Layered config files, lowest priority first."""
    files = [Path("/usr/share/smoothdesk/config.toml"), Path("/etc/smoothdesk/config.toml")]
    if user_mode:
        files.append(user_config_dir() / "config.toml")
    return files
