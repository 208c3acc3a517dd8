"""D-Bus error names and the exceptions that carry them over the bus."""

from __future__ import annotations

from smoothdesk.core.errors import SmoothDeskError

ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
INVALID_ARGS = "org.smoothdesk.Error.InvalidArgument"
NOT_FOUND = "org.smoothdesk.Error.NotFound"
FAILED = "org.smoothdesk.Error.Failed"
RATE_LIMITED = "org.smoothdesk.Error.RateLimited"
UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
BAD_SIGNATURE = "org.freedesktop.DBus.Error.InvalidArgs"


class BusError(SmoothDeskError):
    """An error that is sent to the caller as `name` with a one-line message, no traceback."""

    name = FAILED

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        if name is not None:
            self.name = name


class AccessDenied(BusError):
    name = ACCESS_DENIED


class InvalidArgument(BusError):
    """Names the offending argument so a client can say exactly what was wrong."""

    name = INVALID_ARGS

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        super().__init__(f"argument {argument!r}: {problem}")


class NotFound(BusError):
    name = NOT_FOUND
