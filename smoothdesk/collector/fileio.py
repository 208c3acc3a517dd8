"""Small, allocation-light file reads for /proc and /sys (os.open/os.read, no buffering)."""

from __future__ import annotations

import os

_CHUNK = 65536


def read_bytes(path: str, limit: int = 1 << 20) -> bytes | None:
    """The file's content, or None when it does not exist (or its process is gone).

    PermissionError and other OSErrors propagate: callers decide what a
    refusal means. `limit` bounds what a hostile or huge file can cost.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    try:
        first = os.read(fd, _CHUNK)
        if len(first) < _CHUNK:
            return first
        parts = [first]
        total = len(first)
        while total < limit:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        return b"".join(parts)[:limit]
    except (ProcessLookupError, FileNotFoundError):
        # The process exited between open and read.
        return None
    finally:
        os.close(fd)


def read_text(path: str, limit: int = 1 << 20) -> str | None:
    """Like read_bytes, decoded as UTF-8 with undecodable bytes replaced."""
    data = read_bytes(path, limit)
    return None if data is None else data.decode("utf-8", "replace")


def read_text_quiet(path: str) -> str | None:
    """Like read_text, but any OSError (EACCES, EIO, ...) also gives None."""
    try:
        return read_text(path)
    except OSError:
        return None
