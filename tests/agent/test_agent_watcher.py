"""The supervised loop every agent watcher runs: outages said once, backoff, bugs logged and survived."""

from __future__ import annotations

import logging
import threading

import pytest

from smoothdesk.agent.watcher import SourceGone, SupervisedWatcher
from tests.support.procs import wait_for

WATCHER_LOG = "smoothdesk.agent.watcher"


class Scripted(SupervisedWatcher):
    """A source whose sessions follow a script: "up" measures until released, "gone" is a
    disconnect, "oops" a bug, "never" a source that is not there at all."""

    thread_name = "sd-test-watcher"
    backoff_min, backoff_max = 0.01, 0.04

    def __init__(self, script: list[str]) -> None:
        super().__init__("the scripted source")
        self.script = script
        self.gone: list[str] = []
        self.sessions = 0
        self.release = threading.Event()

    def _session(self) -> None:
        step = self.script[self.sessions] if self.sessions < len(self.script) else "idle"
        self.sessions += 1
        if step == "up":
            self._up()
            self.release.wait(10)
            self.release.clear()
            raise ConnectionResetError("the server went away")
        if step == "gone":
            raise SourceGone("nobody answers")
        if step == "oops":
            raise KeyError("a bug in the watcher")
        self.wait(None)  # "idle": stays connected until stop()

    def _gone(self, why: str) -> None:
        self.gone.append(why)


def warnings_and_infos(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WATCHER_LOG and r.levelno >= logging.INFO]


def test_an_outage_is_said_once_however_many_retries_and_the_return_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, WATCHER_LOG)
    watcher = Scripted(["up", "gone", "gone", "gone", "gone", "up"])
    watcher.start()
    try:
        assert wait_for(lambda: watcher.sessions == 1, 10)
        watcher.release.set()  # the first connection drops, four reconnects fail, the sixth works
        assert wait_for(lambda: watcher.sessions == 6, 10), watcher.sessions
        watcher.release.set()  # and that one drops again: a second outage
        assert wait_for(lambda: watcher.sessions >= 7, 10), watcher.sessions
    finally:
        watcher.stop()
    assert watcher.gone[:5] == ["the server went away"] + ["nobody answers"] * 4
    lines = warnings_and_infos(caplog)
    gone = [line for line in lines if "is gone" in line]
    assert gone == ["the scripted source is gone: the server went away; reconnecting with backoff"] * 2, lines
    assert sum("is back after" in line for line in lines) == 1, lines
    retries = [r for r in caplog.records if r.name == WATCHER_LOG and "still gone" in r.getMessage()]
    assert len(retries) == 4 and all(r.levelno == logging.DEBUG for r in retries)
    assert watcher.outages == 2 and watcher.restarts == 0
    assert not watcher.alive


def test_a_bug_is_logged_with_its_traceback_reported_and_the_watcher_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, WATCHER_LOG)
    watcher = Scripted(["oops", "up"])
    watcher.start()
    try:
        assert wait_for(lambda: watcher.sessions == 2, 10), watcher.sessions
        assert watcher.alive
    finally:
        watcher.release.set()
        watcher.stop()
    bug = [r for r in caplog.records if "unexpected error" in r.getMessage()]
    assert len(bug) == 1 and bug[0].levelno == logging.ERROR
    assert bug[0].exc_info is not None and bug[0].exc_info[0] is KeyError  # the traceback is logged
    assert watcher.restarts == 1
    assert "the watcher failed (KeyError" in watcher.gone[0]


def test_a_source_never_there_is_said_once_as_unavailable_not_gone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, WATCHER_LOG)
    watcher = Scripted(["gone"] * 6)
    watcher.start()
    try:
        assert wait_for(lambda: watcher.sessions >= 6, 10), watcher.sessions
    finally:
        watcher.stop()
    lines = warnings_and_infos(caplog)
    assert lines == ["the scripted source is not available: nobody answers; looking again with backoff"]
    assert not any(r.levelno >= logging.WARNING for r in caplog.records if r.name == WATCHER_LOG)


def test_the_backoff_doubles_to_its_ceiling_and_starts_again_after_a_good_session() -> None:
    waits: list[float | None] = []

    class Timed(Scripted):
        def wait(self, seconds: float | None) -> bool:
            if seconds is not None:
                waits.append(seconds)
            return super().wait(seconds)

    watcher = Timed(["gone", "gone", "gone", "gone", "up", "gone"])
    watcher.start()
    try:
        assert wait_for(lambda: watcher.sessions == 5, 10)
        watcher.release.set()
        assert wait_for(lambda: watcher.sessions >= 7, 10)
    finally:
        watcher.stop()
    assert waits[:6] == [0.01, 0.02, 0.04, 0.04, 0.01, 0.02], waits


def test_stop_ends_a_session_blocked_on_its_source_at_once() -> None:
    watcher = Scripted(["idle"])
    watcher.start()
    assert wait_for(lambda: watcher.sessions == 1, 10)
    watcher.stop()
    assert not watcher.alive
    assert watcher.gone == []  # stopping is not an outage
