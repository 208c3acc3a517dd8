"""Errors the command-line client reports as one line."""

from smoothdesk.core.errors import SmoothDeskError


class CliError(SmoothDeskError):
    """A user-facing error: printed as one line, exit status 1 (2 for usage)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status
