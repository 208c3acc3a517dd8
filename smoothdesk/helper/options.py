"""What the helper is started with: the command line, as the daemon takes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Options:
    bus: str = "none"
    dry_run: bool = False
    config: Path | None = None
    tick: float | None = None
    proc_root: Path = Path("/")
    sys_root: Path = Path("/sys")
    run_dir: Path | None = None
    state_dir: Path | None = None
    user: bool = False
    rules_write_path: Path | None = None
    ananicy_extra_root: Path | None = None
