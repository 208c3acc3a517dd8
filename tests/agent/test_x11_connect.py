"""A failed connection to an X display leaves no socket open (python-xlib's own attempts leak two)."""

from __future__ import annotations

import gc
import socket
import warnings
from pathlib import Path

import pytest
from Xlib.display import Display
from Xlib.error import DisplayError

from smoothdesk.agent.focus_x11 import open_display


def nobody_listens() -> str:
    """A display number with neither a unix socket nor a TCP listener."""
    for n in range(7919, 8019):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            continue
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", 6000 + n)) != 0:
                return f":{n}"
    pytest.skip("every display number tried answers")


def leaked_sockets(connect: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(DisplayError):
            connect(nobody_listens())  # type: ignore[operator]
        gc.collect()
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and "socket" in str(w.message)
    ]


def test_python_xlib_alone_leaves_its_failed_sockets_to_the_collector() -> None:
    assert leaked_sockets(Display)  # what open_display is for: if this passes no more, drop it


def test_open_display_closes_the_sockets_of_a_failed_connection() -> None:
    assert leaked_sockets(open_display) == []
