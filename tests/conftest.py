"""Shared fixtures: a private dbus-daemon, and skipping root-only tests with a reason."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bus import private_bus


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (run make test as root, as CI does)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


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
