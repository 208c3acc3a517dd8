"""GUI test fixtures: offscreen Qt, a private per-test config home, and a real user-mode helper."""

from __future__ import annotations

import os

# Before any QApplication exists: widgets render offscreen, never on a display the machine may have.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import gc
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

# user_dirs (autouse) and user_helper are the agent tests' fixtures too; UserHelper is imported from here.
from tests.support.user_helper import UserHelper, user_dirs, user_helper

__all__ = ["UserHelper", "user_dirs", "user_helper"]


@pytest.fixture(scope="session", autouse=True)
def no_automatic_gc() -> Iterator[None]:
    """Python's cycle collector runs in whichever thread happens to allocate, often a connection's
    dbus-fast thread: a window left in a reference cycle by one test was then destroyed there, its
    QTimers could not be unregistered from another thread, and the next timer event hit freed memory
    (the segfault that made each module need a process of its own). Collect only in the GUI thread."""
    enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def gui_objects_die_with_their_test() -> Iterator[None]:
    """Before and after each test, in the GUI thread: destroy what was deleteLater()'d (pytest-qt's
    closed widgets; a window's `destroyed` stops its connection) and collect cyclic garbage. A test
    that leaves a helper connection's thread running fails here, not in whichever test comes next."""
    gc.collect()
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    left = [t.name for t in threading.enumerate() if t.name == "helper-conn" and t.is_alive()]
    assert not left, f"{len(left)} HelperConnection thread(s) still running: stop() each connection"
