"""Shared fixtures: a private dbus-daemon, skipping root-only tests with a reason, no leftover processes."""

from __future__ import annotations

import faulthandler
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support import reaper
from tests.support.bus import private_bus

_session: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    # Children inherit the token from here on; the watchdog kills them even if pytest is SIGKILLed.
    token = reaper.begin_session()
    _session.update(token=token, watchdog=reaper.start_watchdog(token), leftovers=[])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test that leaves a process running fails the run; the process is killed and named."""
    token, watchdog = _session["token"], _session["watchdog"]
    assert isinstance(token, str) and isinstance(watchdog, int)
    left = reaper.leftovers(token, exclude=frozenset({watchdog}))
    reaper.kill([p.pid for p in left])
    _session["leftovers"] = left
    if left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    left = _session.get("leftovers") or []
    assert isinstance(left, list)
    if left:
        terminalreporter.section("processes left running (killed now; the run fails)", red=True)
        for p in left:
            terminalreporter.line(p.describe(), red=True)


BACKSTOP_FACTOR = 3


def _end_the_run(item: pytest.Item, after: float) -> None:
    capman = item.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.suspend_global_capture(in_=True)
    sys.stderr.write(f"\n{item.nodeid} still runs {after:.0f} s after it started; ending the run\n")
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    sys.stderr.flush()
    os._exit(3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    """A test still running at 3x its timeout ends the run with every thread's traceback.

    pytest-timeout's signal method fails a test by raising inside it, and code that catches
    that (Hypothesis replays and shrinks a failing example) runs on with no timer left: CI then
    hangs until its own limit, with no word of where.
    """
    marker = item.get_closest_marker("timeout")
    limit = float(marker.args[0]) if marker and marker.args else float(item.config.getini("timeout") or 0)
    timer = None
    if limit > 0:
        timer = threading.Timer(limit * BACKSTOP_FACTOR, _end_the_run, (item, limit * BACKSTOP_FACTOR))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (run make test as root, as CI does)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def _state_dir() -> Path:
    # World-writable and sticky, because some tests run the helper as nobody.
    path = Path(tempfile.mkdtemp(prefix="sd-state-"))
    path.chmod(0o1777)
    return path


@pytest.fixture(scope="session", autouse=True)
def session_state_dir() -> Iterator[Path]:
    """Helpers started by module-scoped fixtures keep their snapshot log here, never in /var/lib."""
    path = _state_dir()
    os.environ["SMOOTHDESK_STATE_DIR"] = str(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def private_state_dir(session_state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test's own helpers get a snapshot log of their own."""
    path = _state_dir()
    monkeypatch.setenv("SMOOTHDESK_STATE_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp dir nobody can reach (pytest's tmp_path lives under a root-only directory)."""
    path = Path(tempfile.mkdtemp(prefix="sd-shared-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def bus_address() -> Iterator[str]:
    with private_bus() as address:
        yield address
