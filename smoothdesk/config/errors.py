"""Errors raised while reading configuration."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.core.errors import SmoothDeskError


class ConfigError(SmoothDeskError):
    """A configuration problem; the message names the file and, where known, the line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")
