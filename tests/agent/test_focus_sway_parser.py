"""sway IPC parsing on a captured real session (tests/data/sway/session.ipc), and on broken input.

session.ipc is what sway 1.7 sent on one connection: the subscribe and get_tree replies, then the
events for: focus sd-one (pid 8327), workspace 2 (empty), workspace 1, kill sd-one, kill sd-two (8341).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.agent.focus_sway import (
    GET_TREE,
    MAGIC,
    SUBSCRIBE,
    WINDOW_EVENT,
    ProtocolError,
    Reader,
    SwayFocus,
    apply_event,
    describe,
    focus_in_tree,
    frame,
    probe,
)
from smoothdesk.agent.state import Focus
from tests.support.procs import wait_for

CAPTURE = (Path(__file__).parents[1] / "data" / "sway" / "session.ipc").read_bytes()
ONE, TWO = 8327, 8341


def messages() -> list[tuple[int, bytes]]:
    return list(Reader().feed(CAPTURE))


def replay(msgs: list[tuple[int, bytes]]) -> list[Focus]:
    """The Focus after each message that changes it, as SwayFocus would report them."""
    current: int | None = None
    seen: list[Focus] = []
    for kind, payload in msgs:
        body = json.loads(payload)
        if kind == SUBSCRIBE:
            continue
        found = focus_in_tree(body) if kind == GET_TREE else apply_event(kind, body, current)
        if found is not None:
            current = found[0]
            if not seen or seen[-1] != found[1]:
                seen.append(found[1])
    return seen


EXPECTED = [
    Focus(TWO, "sd-two"),  # get_tree: the last mapped window has focus
    Focus(ONE, "sd-one"),
    Focus(),  # workspace 2 is empty
    Focus(ONE, "sd-one"),  # back on 1, where sd-one kept the focus
    Focus(),  # sd-one closed...
    Focus(TWO, "sd-two"),  # ...and sway focuses sd-two
    Focus(),  # sd-two closed, nothing left
]


def test_the_captured_stream_splits_the_same_however_it_arrives() -> None:
    whole = messages()
    assert [k for k, _ in whole[:2]] == [SUBSCRIBE, GET_TREE]
    assert len(whole) == 11
    reader = Reader()
    bytewise = [m for i in range(len(CAPTURE)) for m in reader.feed(CAPTURE[i : i + 1])]
    assert bytewise == whole


def test_the_captured_session_gives_the_focus_sway_had() -> None:
    assert replay(messages()) == EXPECTED


def test_closing_a_window_that_is_not_focused_changes_nothing() -> None:
    close = next(json.loads(p) for k, p in messages() if k == WINDOW_EVENT and b'"close"' in p)
    assert close["container"]["pid"] == ONE
    assert apply_event(WINDOW_EVENT, close, current=close["container"]["id"]) == (None, Focus())
    assert apply_event(WINDOW_EVENT, close, current=close["container"]["id"] + 100) is None


@pytest.mark.parametrize(
    ("con", "why"),
    [
        ({"type": "con", "pid": "8327", "app_id": "x"}, "names no pid for the focused window (x)"),
        ({"type": "con", "pid": True, "id": 5}, "names no pid for the focused window (5)"),
        ({"type": "con", "pid": 0, "nodes": [{"id": 1}]}, "container of several windows"),
    ],
)
def test_a_focused_node_without_a_usable_pid_is_unknown_not_a_guess(con: dict[str, Any], why: str) -> None:
    focus = describe(con)
    assert focus.pid is None and why in focus.reason


def test_an_xwayland_window_is_named_by_its_class() -> None:
    con = {"type": "con", "pid": 42, "app_id": None, "window_properties": {"class": "Gimp"}}
    assert describe(con) == Focus(42, "Gimp")


@pytest.mark.parametrize(
    "body", [[], {"change": "focus"}, {"change": "focus", "container": 3}, "x", None]
)  # fmt: skip
def test_malformed_window_events_raise_value_error(body: Any) -> None:
    with pytest.raises(ValueError, match="event"):
        apply_event(WINDOW_EVENT, body, None)


def test_bad_magic_and_absurd_lengths_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="bad magic"):
        list(Reader().feed(b"HTTP/1.1 200 OK\r\n\r\n"))
    with pytest.raises(ProtocolError, match="bytes"):
        list(Reader().feed(MAGIC + struct.pack("=II", 1 << 31, 4)))


class FakeSway:
    """A Unix socket that plays back captured or broken messages to each connection, in order."""

    def __init__(self, path: Path, sessions: list[bytes]) -> None:
        self.path = path
        self.sessions = sessions
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen()
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
        self.server.close()
        self.thread.join(timeout=5)

    def _serve(self) -> None:
        for data in self.sessions:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed by the test
            with conn:
                self.requests.append(conn.recv(4096))
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1)  # until the client closes


@pytest.fixture
def fake_sway(tmp_path: Path) -> Iterator[Callable[[list[bytes]], Path]]:
    """Start a FakeSway playing the given sessions; returns its socket path."""
    fakes: list[FakeSway] = []

    def start(sessions: list[bytes]) -> Path:
        fakes.append(FakeSway(tmp_path / f"sway-ipc.{len(fakes)}.sock", sessions))
        return fakes[-1].path

    yield start
    for fake in fakes:
        fake.close()


def follow(path: Path) -> tuple[SwayFocus, list[Focus]]:
    seen: list[Focus] = []
    watcher = SwayFocus(seen.append, str(path), retry=0.05)
    watcher.start()
    return watcher, seen


def test_the_watcher_reports_the_captured_session_then_the_lost_socket(tmp_path: Path) -> None:
    fake = FakeSway(tmp_path / "sway-ipc.sock", [CAPTURE])
    sway_path = fake.path
    watcher, seen = follow(sway_path)
    try:
        assert wait_for(lambda: len(seen) > len(EXPECTED), 10), seen
    finally:
        watcher.stop()
    assert seen[: len(EXPECTED)] == EXPECTED
    assert "no focus from sway IPC" in seen[len(EXPECTED)].reason
    fake.close()
    assert fake.requests[0] == frame(SUBSCRIBE, b'["window", "workspace"]') + frame(GET_TREE)


def test_malformed_messages_are_skipped_and_garbage_reconnects(
    fake_sway: Callable[[list[bytes]], Path],
) -> None:
    msgs = messages()
    tree, focus_one = msgs[1], msgs[2]
    broken = b"".join(
        [
            frame(SUBSCRIBE, b'{"success": true}'),
            frame(*tree),
            frame(WINDOW_EVENT, b'{"change": "focus", "container": '),  # cut short
            frame(WINDOW_EVENT, b"\xff\xfe"),  # not UTF-8
            frame(WINDOW_EVENT, b"[" * 100000 + b"]" * 100000),  # deeper than json can go
            frame(WINDOW_EVENT, b'{"change": "focus", "container": {"window_properties": 7}}'),
            frame(*focus_one),
            b"not i3-ipc at all",
        ]
    )
    sway_path = fake_sway([broken, CAPTURE])
    watcher, seen = follow(sway_path)
    try:
        assert wait_for(lambda: len(seen) >= 4, 10), seen
    finally:
        watcher.stop()
    # The odd events are skipped; the garbage ends the connection, and the next one starts afresh.
    assert seen[:4] == [Focus(TWO, "sd-two"), Focus(ONE, "sd-one"), seen[2], Focus(TWO, "sd-two")]
    assert "bad magic" in seen[2].reason and seen[2].pid is None


def test_a_refused_subscription_is_reported(fake_sway: Callable[[list[bytes]], Path]) -> None:
    sway_path = fake_sway([frame(SUBSCRIBE, b'{"success": false}')])
    watcher, seen = follow(sway_path)
    try:
        assert wait_for(lambda: bool(seen), 10), seen
    finally:
        watcher.stop()
    assert "refused the subscription" in seen[0].reason


def test_probe_names_a_socket_that_is_not_sway(fake_sway: Callable[[list[bytes]], Path]) -> None:
    sway_path = fake_sway([b"garbage garbage garbage"])
    assert "bad magic" in probe(str(sway_path))
    assert "does not answer" in probe(str(sway_path.parent / "missing.sock"))
