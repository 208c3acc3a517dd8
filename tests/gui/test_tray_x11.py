"""The real tray under Xvfb: trayer embeds our icon (XEmbed), and a screenshot shows it in colour."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from Xlib import X

from smoothdesk.gui.shell import VISIBLE_MARKER
from tests.gui.conftest import UserHelper
from tests.support.procs import wait_for
from tests.support.tools import needs
from tests.support.xsession import XSession, missing_tools, xsession

pytestmark = needs(missing_tools("trayer"), "the tray test")

STATE_COLOURS = {"ok": (0x2E, 0x9D, 0x3F), "warning": (0xE0, 0xA1, 0x00), "critical": (0xD3, 0x2F, 0x2F)}


@pytest.fixture
def session(tmp_path: Path) -> Iterator[XSession]:
    logs = tmp_path / "x"
    logs.mkdir()
    with xsession(tray=True, log_dir=logs) as x:
        yield x


def embedded_windows(x: XSession, pid: int) -> list[tuple[int, tuple[int, int, int, int]]]:
    """Windows of process `pid` (by _NET_WM_PID) inside trayer's window: (id, (x, y, w, h) on screen)."""
    d = x.connect()
    try:
        pid_atom = d.intern_atom("_NET_WM_PID")
        found = []

        def walk(win: object, inside_tray: bool) -> None:
            for child in win.query_tree().children:  # type: ignore[attr-defined]
                wm_class = child.get_wm_class() or ("", "")
                tray = inside_tray or wm_class[1] == "trayer"
                prop = child.get_full_property(pid_atom, X.AnyPropertyType)
                if inside_tray and prop is not None and prop.value[0] == pid:
                    geo = child.get_geometry()
                    at = child.translate_coords(d.screen().root, 0, 0)
                    found.append((child.id, (-at.x, -at.y, geo.width, geo.height)))
                walk(child, tray)

        walk(d.screen().root, False)
        return found
    finally:
        d.close()


def grab(x: XSession, path: Path) -> QImage:
    """The whole screen as the X server has it, saved as PNG (no ImageMagick needed)."""
    d = x.connect()
    try:
        root = d.screen().root
        geo = root.get_geometry()
        raw = root.get_image(0, 0, geo.width, geo.height, X.ZPixmap, 0xFFFFFFFF)
        image = QImage(raw.data, geo.width, geo.height, QImage.Format.Format_RGB32).copy()
    finally:
        d.close()
    assert image.save(str(path), "PNG")
    return image


def close_to(colour: QColor, rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(
        abs(a - b) <= tolerance
        for a, b in zip((colour.red(), colour.green(), colour.blue()), rgb, strict=True)
    )


def test_icon_is_embedded_in_trayer_and_seen_on_screen(
    session: XSession, user_helper: UserHelper, tmp_path: Path
) -> None:
    env = {**session.env, "QT_QPA_PLATFORM": "xcb", "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"]}
    log = tmp_path / "app.log"
    with log.open("wb") as err:
        app = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.gui.app", "--bus", user_helper.bus, "--no-agent"],
            env=env,
            stderr=err,
        )
    try:
        assert wait_for(lambda: VISIBLE_MARKER in log.read_text(), 60), log.read_text()
        assert wait_for(lambda: bool(embedded_windows(session, app.pid)), 30), log.read_text()
        ((_, (ix, iy, iw, ih)),) = embedded_windows(session, app.pid)
        assert iw >= 16 and ih >= 16
        shot = tmp_path / "tray.png"

        def icon_coloured() -> bool:
            image = grab(session, shot)
            pixels = [image.pixelColor(ix + i, iy + j) for i in range(iw) for j in range(ih)]
            return sum(any(close_to(p, c) for c in STATE_COLOURS.values()) for p in pixels) > iw * ih // 5

        # Connected and rendered in a responsiveness colour (not the grey of "disconnected").
        assert wait_for(icon_coloured, 30), log.read_text()
        assert shot.stat().st_size > 1000
        image = QImage(str(shot))
        assert image.width() >= 800
        corners = {
            image.pixelColor(0, image.height() - 1).rgb(),
            image.pixelColor(ix + iw // 2, iy + ih // 2).rgb(),
        }
        assert len(corners) == 2  # not a uniform screen
    finally:
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=30) == 0, log.read_text()
