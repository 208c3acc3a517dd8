"""Fixtures shared by the integration tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.support.helperproc import helper  # noqa: F401 (a real helper process, as a fixture)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Real child processes a test starts; killed and reaped afterwards, even on failure."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
        for pipe in (p.stdin, p.stdout):
            if pipe is not None:
                pipe.close()
