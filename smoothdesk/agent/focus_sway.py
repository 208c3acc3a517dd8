"""Wayland focus from sway's i3-compatible IPC ($SWAYSOCK): get_tree once, then window/workspace events."""

from __future__ import annotations

import json
import logging
import select
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any

from smoothdesk.agent.state import Focus
from smoothdesk.agent.watcher import SupervisedWatcher

log = logging.getLogger(__name__)

MAGIC = b"i3-ipc"
HEADER = struct.Struct("=II")  # payload length, message type; native byte order, as sway writes them
GET_TREE, SUBSCRIBE, GET_VERSION = 4, 2, 7
EVENT = 0x80000000
WORKSPACE_EVENT, WINDOW_EVENT = EVENT | 0, EVENT | 3
MAX_PAYLOAD = 64 << 20  # a desktop's tree is kilobytes; more means the stream is not sway's
RETRY = 2.0  # the longest wait between reconnects: a restarted sway is found this soon


class ProtocolError(Exception):
    """The socket does not speak i3 IPC (bad magic, absurd length): the stream cannot be resynced."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    return MAGIC + HEADER.pack(len(payload), kind) + payload


class Reader:
    """Splits bytes from the socket into (type, payload) messages."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._buf += data
        head = len(MAGIC) + HEADER.size
        while len(self._buf) >= head:
            if self._buf[: len(MAGIC)] != MAGIC:
                raise ProtocolError(f"bad magic {bytes(self._buf[: len(MAGIC)])!r}")
            size, kind = HEADER.unpack_from(self._buf, len(MAGIC))
            if size > MAX_PAYLOAD:
                raise ProtocolError(f"message of {size} bytes")
            if len(self._buf) < head + size:
                return
            payload = bytes(self._buf[head : head + size])
            del self._buf[: head + size]
            yield kind, payload


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`node` and everything under it, tiled and floating."""
    yield node
    for key in ("nodes", "floating_nodes"):
        children = node.get(key)
        if isinstance(children, list):
            for child in children:
                if isinstance(child, dict):
                    yield from _nodes(child)


def describe(con: dict[str, Any]) -> Focus:
    """The Focus for a focused node: a window's pid, nothing for a workspace, unknown otherwise."""
    kind = con.get("type")
    if kind in ("workspace", "output", "root"):
        return Focus()  # an empty workspace has focus: no window does
    pid = con.get("pid")
    name = con.get("app_id") or (con.get("window_properties") or {}).get("class") or con.get("name") or ""
    if not isinstance(name, str):
        name = ""
    if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0:
        return Focus(pid, name)
    if con.get("nodes") or con.get("floating_nodes"):
        return Focus.unknown("sway has a container of several windows focused, not one window")
    return Focus.unknown(f"sway names no pid for the focused window ({name or con.get('id')})")


def focus_in_tree(tree: dict[str, Any]) -> tuple[int | None, Focus]:
    """(container id, Focus) of the node marked focused in a get_tree reply (or workspace subtree)."""
    for node in _nodes(tree):
        if node.get("focused") is True:
            con_id = node.get("id")
            return (con_id if isinstance(con_id, int) else None), describe(node)
    return None, Focus()


def apply_event(kind: int, body: Any, current: int | None) -> tuple[int | None, Focus] | None:
    """The new (container id, Focus) after an event, or None when the event changes nothing.

    `current` is the id of the container reported focused until now.
    """
    if not isinstance(body, dict):
        raise ValueError(f"event is a {type(body).__name__}, not an object")
    change = body.get("change")
    if kind == WINDOW_EVENT:
        con = body.get("container")
        if not isinstance(con, dict):
            raise ValueError("window event without a container")
        con_id = con.get("id")
        if change == "focus":
            return (con_id if isinstance(con_id, int) else None), describe(con)
        if change == "close" and con_id == current:
            return None, Focus()  # sway follows with a focus event if another window takes over
        return None
    if kind == WORKSPACE_EVENT and change == "focus":
        ws = body.get("current")
        if not isinstance(ws, dict):
            raise ValueError("workspace focus event without a current workspace")
        found = focus_in_tree(ws)
        if found[0] is None and ws.get("focused") is not True:
            return None  # the window focus event that follows names the window
        return found
    return None


def probe(path: str, timeout: float = 2.0) -> str:
    """ "" when the socket at `path` answers get_version like sway, else why not."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(frame(GET_VERSION))
            reader = Reader()
            while True:
                data = sock.recv(65536)
                if not data:
                    return f"sway IPC at {path} closed the connection"
                for kind, _payload in reader.feed(data):
                    if kind == GET_VERSION:
                        return ""
    except (OSError, ProtocolError) as exc:
        return f"sway IPC at {path} does not answer: {exc}"


class SwayFocus(SupervisedWatcher):
    """Reports the focused window's process to `on_change` from its own thread, on every change.

    A sway started again with the same $SWAYSOCK (sway takes it when the path is free) is
    followed; one that picks a new path is not, since the agent's environment names the old one.
    """

    thread_name = "smoothdesk-focus-sway"
    disconnects = (OSError, ProtocolError)

    def __init__(self, on_change: Callable[[Focus], None], path: str, retry: float = RETRY) -> None:
        self.on_change = on_change
        self.path = path
        self.backoff_min, self.backoff_max = min(self.backoff_min, retry), retry
        super().__init__(f"sway IPC at {path}")
        self._last: Focus | None = None
        self._current: int | None = None

    def _report(self, focus: Focus) -> None:
        if focus != self._last:
            self._last = focus
            self.on_change(focus)

    def _gone(self, why: str) -> None:
        self._current = None
        self._report(Focus.unknown(f"no focus from sway IPC at {self.path}: {why}"))

    def _session(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.path)
            self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        # Subscribe before reading the tree so no change falls between the two.
        sock.sendall(frame(SUBSCRIBE, b'["window", "workspace"]') + frame(GET_TREE))
        reader = Reader()
        while True:
            readable, _, _ = select.select([sock.fileno(), self._wake_r], [], [])
            if self._wake_r in readable:
                return
            data = sock.recv(65536)
            if not data:
                return
            for kind, payload in reader.feed(data):
                self._handle(kind, payload)

    def _handle(self, kind: int, payload: bytes) -> None:
        try:
            body = json.loads(payload)
            if kind == GET_TREE:
                if not isinstance(body, dict):
                    raise ValueError("get_tree reply is not an object")
                found: tuple[int | None, Focus] | None = focus_in_tree(body)
                self._up()
            elif kind == SUBSCRIBE:
                if not (isinstance(body, dict) and body.get("success") is True):
                    raise ProtocolError(f"sway refused the subscription: {payload[:200]!r}")
                return
            else:
                found = apply_event(kind, body, self._current)
        except (ValueError, AttributeError, TypeError, RecursionError) as exc:
            # One odd message is skipped; the next focus event or tree puts things right.
            log.warning("ignoring a malformed sway IPC message (type %#x): %s", kind, exc)
            return
        if found is not None:
            self._current, focus = found
            self._report(focus)
