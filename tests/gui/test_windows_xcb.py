"""The windows on a real X server (Xvfb, xcb platform), not only offscreen: accessible names, themed
plots with one unit each, a desktop entry's name and icon, a build named by its command, plain titles."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QImage

from tests.support.tools import needs
from tests.support.xsession import missing_tools, xsession

pytestmark = needs(missing_tools(), "the Xvfb window test")
CHILD = Path(__file__).with_name("xcb_checks.py")
REPO = Path(__file__).resolve().parents[2]


def test_windows_under_xvfb(tmp_path: Path, bus_address: str) -> None:
    data = tmp_path / "data"
    (data / "applications").mkdir(parents=True)
    (data / "applications" / "editor.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Example Editor\nIcon=sdtest-editor\nExec=sdeditor\n"
    )
    icons = data / "icons" / "hicolor" / "32x32" / "apps"
    icons.mkdir(parents=True)
    image = QImage(32, 32, QImage.Format.Format_ARGB32)
    image.fill(QColor("#12ab34"))
    assert image.save(str(icons / "sdtest-editor.png"))
    with xsession(log_dir=tmp_path) as x:
        env = {**os.environ, **x.env, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
        out = subprocess.run(
            [sys.executable, str(CHILD), str(data), bus_address],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["platform"] == "xcb"
    assert facts["unnamed"] == []
    assert facts["plot_backgrounds"] == ["#1e1f22"]  # the dark palette, on every plot
    assert "ms" in facts["plot_units"] and "score (0-100)" in facts["plot_units"]
    assert all(" / " not in u for u in facts["plot_units"]) and facts["score_labels"] == ["score"]
    assert facts["names"] == ["Example Editor", "make -j8"]
    assert facts["icon_colour"] == "#12ab34"
    assert not [t for t in facts["titles"] if re.search(r"[a-z0-9]_[a-z0-9]", t)], facts["titles"]
