"""The tray app's own preferences (~/.config/smoothdesk/tray.toml): bus, notifications, hidden alert kinds."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from smoothdesk.core.errors import SmoothDeskError


class PrefsError(SmoothDeskError):
    """tray.toml cannot be read; the message names the file and the problem."""


def config_home() -> Path:
    """$XDG_CONFIG_HOME, else ~/.config (read each time: tests and sessions may change it)."""
    value = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".config"


def prefs_path() -> Path:
    return config_home() / "smoothdesk" / "tray.toml"


@dataclass
class Prefs:
    bus: str = "auto"
    notifications: bool = True
    hidden_alerts: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None = None) -> Prefs:
        path = path or prefs_path()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PrefsError(f"{path}: {exc}") from None
        prefs = cls()
        for key, kind in (("bus", str), ("notifications", bool), ("hidden_alerts", list)):
            if key in data:
                if not isinstance(data[key], kind):
                    raise PrefsError(f"{path}: {key} must be a {kind.__name__}, not {data[key]!r}")
                setattr(prefs, key, data[key])
        prefs.hidden_alerts = [str(k) for k in prefs.hidden_alerts]
        return prefs

    def save(self, path: Path | None = None) -> None:
        path = path or prefs_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "bus": self.bus,
            "notifications": self.notifications,
            "hidden_alerts": sorted(self.hidden_alerts),
        }
        # Written whole then renamed, so a crash never leaves half a file.
        tmp = path.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        tmp.replace(path)
