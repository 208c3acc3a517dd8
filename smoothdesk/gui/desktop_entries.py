"""Match app groups to installed .desktop files, for a friendly name and an icon."""

from __future__ import annotations

import configparser
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FIELD_CODE = re.compile(r"%[a-zA-Z%]")
_UNIT_APP = re.compile(r"^app-(?P<app>.+?)(?:@[^.]*)?(?:-[0-9a-f]{1,32})?\.(?:scope|service)$")


@dataclass(frozen=True, slots=True)
class DesktopEntry:
    path: Path
    name: str
    icon: str
    exec_name: str
    wm_class: str


def data_dirs() -> list[Path]:
    """$XDG_DATA_HOME then $XDG_DATA_DIRS, as the XDG base directory spec orders them."""
    home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    dirs = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    return [Path(home), *(Path(d) for d in dirs.split(":") if d)]


def exec_basename(command: str) -> str:
    """The program of an Exec= line: no field codes, no `env VAR=x` prefix, no directory."""
    try:
        words = shlex.split(_FIELD_CODE.sub("", command))
    except ValueError:
        words = command.split()
    if words and Path(words[0]).name == "env":
        words = [w for w in words[1:] if "=" not in w or w.startswith("-")]
    words = [w for w in words if not w.startswith("-")] or words
    return Path(words[0]).name if words else ""


def parse_entry(path: Path) -> DesktopEntry | None:
    """An application entry that is meant to be shown, or None."""
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"), str(path))
    except (OSError, configparser.Error):
        return None
    if not parser.has_section("Desktop Entry"):
        return None
    s = parser["Desktop Entry"]
    if s.get("Type", "Application") != "Application" or s.get("Hidden", "false") == "true":
        return None
    return DesktopEntry(
        path=path,
        name=s.get("Name", path.stem),
        icon=s.get("Icon", ""),
        exec_name=exec_basename(s.get("Exec", "")),
        wm_class=s.get("StartupWMClass", ""),
    )


ICON_SIZES = ("scalable", "256x256", "128x128", "64x64", "48x48", "32x32", "24x24", "16x16")


def icon_file(name: str, dirs: Iterable[Path]) -> Path | None:
    """The file of a themed icon name under the data dirs (hicolor, the fallback theme every
    desktop has, then pixmaps): Qt's own theme lookup finds nothing where no platform theme is set."""
    if not name or name.startswith("/"):
        return Path(name) if name and Path(name).is_file() else None
    for base in dirs:
        for size in ICON_SIZES:
            for ext in (".svg", ".png") if size == "scalable" else (".png", ".svg"):
                path = base / "icons" / "hicolor" / size / "apps" / f"{name}{ext}"
                if path.is_file():
                    return path
        for ext in (".png", ".svg", ".xpm"):
            path = base / "pixmaps" / f"{name}{ext}"
            if path.is_file():
                return path
    return None


def unit_app_ids(unit: str) -> list[str]:
    """Desktop ids a systemd app unit may stand for: app-gnome-firefox-1234.scope gives
    gnome-firefox and firefox (the launcher prefix is optional in the naming convention)."""
    m = _UNIT_APP.match(unit)
    if m is None:
        return []
    app = m.group("app")
    parts = app.split("-")
    return ["-".join(parts[i:]) for i in range(len(parts))]


class DesktopEntries:
    """An index of applications/*.desktop under the data dirs, built once, looked up by app group.

    A group matches an entry by, in order: its unit's app id (app-firefox-1234.scope), its name
    as the Exec program's base name, as StartupWMClass, or as the desktop file's id.
    Earlier data dirs win (the user's own entries override the system's).
    """

    def __init__(self, dirs: Iterable[Path] | None = None) -> None:
        self.dirs = list(dirs) if dirs is not None else data_dirs()
        self._index: dict[str, DesktopEntry] | None = None
        self._cache: dict[tuple[str, str], DesktopEntry | None] = {}

    def _build(self) -> dict[str, DesktopEntry]:
        index: dict[str, DesktopEntry] = {}
        for base in reversed(self.dirs):  # later (higher-priority) dirs overwrite earlier ones
            folder = base / "applications"
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*.desktop")):
                entry = parse_entry(path)
                if entry is None:
                    continue
                desktop_id = path.relative_to(folder).as_posix().replace("/", "-").removesuffix(".desktop")
                keys = {desktop_id, desktop_id.rsplit(".", 1)[-1], entry.exec_name, entry.wm_class}
                for key in keys:
                    if key:
                        index[key.lower()] = entry
        return index

    @property
    def index(self) -> dict[str, DesktopEntry]:
        if self._index is None:
            self._index = self._build()
        return self._index

    def lookup(self, app: Mapping[str, Any]) -> DesktopEntry | None:
        name = str(app.get("name", ""))
        unit = str(app.get("unit", ""))
        key = (name, unit)
        if key not in self._cache:
            self._cache[key] = self._find(name, unit)
        return self._cache[key]

    def _find(self, name: str, unit: str) -> DesktopEntry | None:
        candidates = [*unit_app_ids(unit), name, name.rsplit("/", 1)[-1]]
        for c in candidates:
            entry = self.index.get(c.lower())
            if entry is not None:
                return entry
        return None
