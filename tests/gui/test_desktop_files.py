"""The .desktop files (packaged, and the autostart entry the app writes) pass desktop-file-validate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from smoothdesk.gui import autostart
from tests.support.tools import needs
from tests.support.users import REPO

VALIDATE = shutil.which("desktop-file-validate")
pytestmark = needs([] if VALIDATE else ["desktop-file-validate"], "the .desktop checks")


def validate(path: Path) -> str:
    assert VALIDATE is not None
    out = subprocess.run([VALIDATE, str(path)], capture_output=True, text=True, timeout=30, check=False)
    return (out.stdout + out.stderr).strip() if out.returncode else ""


@pytest.mark.parametrize("name", ["smoothdesk.desktop", "smoothdesk-autostart.desktop"])
def test_packaged_entries_are_valid(name: str) -> None:
    path = REPO / "packaging" / "desktop" / name
    assert "Exec=smoothdesk\n" in path.read_text()
    assert validate(path) == ""


def test_written_autostart_entry_is_valid_and_a_broken_one_is_caught(tmp_path: Path) -> None:
    path = autostart.set_enabled(True, "unix:path=/run/user/1000/bus")
    assert validate(path) == ""
    broken = tmp_path / "broken.desktop"
    broken.write_text(path.read_text().replace("Type=Application\n", ""))
    assert "Type" in validate(broken)
