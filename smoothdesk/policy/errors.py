"""Errors of the policy layer: the package base and rule errors that name their file and line."""

from __future__ import annotations

from smoothdesk.core.errors import SmoothDeskError


class PolicyError(SmoothDeskError):
    """Base for every error the policy package raises."""


class RuleError(PolicyError):
    """A bad rule or rule file; `path` is the source name, `line` is 1-based or None if unknown."""

    def __init__(self, message: str, path: str, line: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
