"""The collector package's error base class."""

from smoothdesk.core.errors import SmoothDeskError


class CollectorError(SmoothDeskError):
    """Raised when a kernel interface cannot be read or opened as the collector needs."""
