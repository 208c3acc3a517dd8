"""The dashboard against a real (dry-run) user-mode helper: live curves, history, export, hiding."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF
from pytestqt.qtbot import QtBot

from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.dashboard import DashboardWindow
from smoothdesk.gui.demotions import changes
from smoothdesk.gui.series import SeriesStore, flatten
from smoothdesk.gui.throttle import Throttle
from tests.gui.conftest import UserHelper
from tests.support.procs import named_binary, spawn_hog, stop

TIMEOUT = 20_000


@pytest.fixture
def dashboard(qtbot: QtBot, user_helper: UserHelper) -> Iterator[DashboardWindow]:
    conn = HelperConnection(user_helper.bus)
    with qtbot.waitSignal(conn.connected, timeout=TIMEOUT):
        conn.start()
    window = DashboardWindow(conn)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: window.history_loads >= 1, timeout=TIMEOUT)
        yield window
    finally:
        window.hide()
        conn.stop()


def test_live_metrics_grow_the_curves(qtbot: QtBot, dashboard: DashboardWindow) -> None:
    start = dashboard.cpu_plot.point_count("cpu_busy")
    qtbot.waitUntil(lambda: dashboard.cpu_plot.point_count("cpu_busy") >= start + 3, timeout=TIMEOUT)
    for key in ("psi_cpu_some", "psi_io_some", "psi_memory_some"):
        assert dashboard.psi_plot.point_count(key) > 0
    qtbot.waitUntil(lambda: dashboard.mem_plot.point_count("mem_used_pct") > 0, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: bool(dashboard.top_plot.rows), timeout=TIMEOUT)
    # Responsiveness figures come with a later helper; until they do, say so instead of drawing zeros.
    has_latency = dashboard.store.has("latency_p95_ms")
    assert dashboard.resp_plot.empty_text.isVisible() is not has_latency


def test_range_switch_loads_history(qtbot: QtBot, dashboard: DashboardWindow) -> None:
    loads = dashboard.history_loads
    dashboard.range_box.setCurrentIndex(1)
    assert dashboard.range_seconds == 600.0
    qtbot.waitUntil(lambda: dashboard.history_loads == loads + 1, timeout=TIMEOUT)
    helper_says: list[list[dict[str, float]]] = []
    dashboard.conn.call("history", 600.0, on_done=helper_says.append)
    qtbot.waitUntil(lambda: bool(helper_says), timeout=TIMEOUT)
    times, _ = dashboard.store.window("cpu_busy", 0.0)
    # Everything the helper kept is drawn (live samples may have arrived since, never fewer).
    assert {s["time"] for s in helper_says[0][:-2]} <= set(times)
    assert dashboard.cpu_plot.getViewBox().viewRange()[0][1] - dashboard.cpu_plot.getViewBox().viewRange()[0][
        0
    ] == pytest.approx(600.0, abs=1.0)


def test_export_png_and_csv(qtbot: QtBot, dashboard: DashboardWindow, tmp_path: Path) -> None:
    qtbot.waitUntil(lambda: dashboard.cpu_plot.point_count("cpu_busy") >= 2, timeout=TIMEOUT)
    png = tmp_path / "d.png"
    assert dashboard.export_png(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "d.csv"
    rows = dashboard.export_csv(out)
    table = list(csv.reader(out.read_text().splitlines()))
    header, body = table[0], table[1:]
    assert header[0] == "time" and "cpu_busy" in header and "psi_io_some" in header
    assert len(body) == rows > 0
    since, _ = dashboard.visible_window()
    times, values = dashboard.store.window("cpu_busy", since)
    col = header.index("cpu_busy")
    written = {round(float(r[0]), 3): float(r[col]) for r in body if r[col]}
    assert len(written) == len(times)
    assert all(written[round(t, 3)] == pytest.approx(v, rel=1e-3) for t, v in zip(times, values, strict=True))


def test_hidden_dashboard_does_no_work_and_catches_up(qtbot: QtBot, dashboard: DashboardWindow) -> None:
    qtbot.waitUntil(lambda: dashboard.redraw_count >= 2, timeout=TIMEOUT)
    dashboard.hide()
    hidden_at = time.time()
    redraws, points = dashboard.redraw_count, dashboard.cpu_plot.point_count("cpu_busy")
    last = dashboard.store.last_time
    qtbot.wait(3000)  # six helper ticks, each a Metrics signal
    assert dashboard.redraw_count == redraws
    assert dashboard.store.last_time == last
    assert dashboard.cpu_plot.point_count("cpu_busy") == points
    assert not dashboard._poll_timer.isActive() and not dashboard._redraw_throttled.pending
    dashboard.show()
    qtbot.waitUntil(lambda: dashboard.redraw_count > redraws, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: dashboard.store.last_time > hidden_at + 2.0, timeout=TIMEOUT)
    times, _ = dashboard.store.window("cpu_busy", hidden_at + 0.5)
    assert any(t < hidden_at + 2.5 for t in times), "the hidden stretch came back from history"


def test_hover_shows_time_and_values(qtbot: QtBot, dashboard: DashboardWindow) -> None:
    qtbot.waitUntil(lambda: dashboard.cpu_plot.point_count("cpu_busy") >= 2, timeout=TIMEOUT)
    plot = dashboard.cpu_plot
    times, values = dashboard.store.window("cpu_busy", 0.0)
    scene_pos = plot.getViewBox().mapViewToScene(QPointF(times[-1], values[-1]))
    plot.scene().sigMouseMoved.emit(scene_pos)
    assert plot.vline.isVisible() and plot.readout.isVisible()
    text = plot.readout.textItem.toPlainText()
    assert time.strftime("%H:%M", time.localtime(times[-1])) in text
    assert f"total: {values[-1]:.1f} %" in text


def test_flatten_and_store() -> None:
    sample = {
        "time": 10.0,
        "cpu_busy": 40.0,
        "mem_available": 25,
        "cpu_by_class": {"idle": 5.0, "normal": 30.0},
        "psi_io_some": float("nan"),
    }
    flat = flatten(sample, mem_total=100, swap_total=None)
    assert flat == {"cpu_busy": 40.0, "mem_used_pct": 75.0, "cpu_class:idle": 5.0, "cpu_class:normal": 30.0}
    store = SeriesStore(keep=3)
    for t in (1.0, 2.0, 2.0, 3.0, 4.0):
        store.add(t, {"a": t * 10})
    assert store.window("a", 0.0) == ([2.0, 3.0, 4.0], [20.0, 30.0, 40.0])
    assert store.window("a", 3.0) == ([3.0, 4.0], [30.0, 40.0])


def test_throttle_coalesces_to_the_last_call(qtbot: QtBot) -> None:
    calls: list[int] = []
    throttle = Throttle(calls.append, 200)
    for i in range(5):
        throttle(i)
    assert calls == [0]
    qtbot.waitUntil(lambda: calls == [0, 4], timeout=2000)
    throttle(5)
    throttle.cancel()
    qtbot.wait(400)
    assert calls == [0, 4]


def test_one_unit_per_axis(qtbot: QtBot, dashboard: DashboardWindow) -> None:
    """Milliseconds, ms per second and the 0-100 score each on a plot of their own."""
    assert len({dashboard.resp_plot.unit, dashboard.wait_plot.unit, dashboard.score_plot.unit}) == 3
    for plot in dashboard.time_plots:
        assert " / " not in plot.getAxis("left").labelText
    assert set(dashboard.resp_plot.labels) == {
        "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "focus_cpu_wait_max_ms"
    }  # fmt: skip
    assert dashboard.resp_plot.unit == "ms" and dashboard.wait_plot.unit == "ms per second"
    assert list(dashboard.score_plot.labels) == ["score"]
    for plot in (dashboard.cpu_plot, dashboard.resp_plot, dashboard.wait_plot):
        assert "score" not in plot.labels
    dashboard.store.add(time.time(), {"score": 80.0, "latency_p99_ms": 4.0})
    dashboard.redraw()
    assert dashboard.score_plot.getViewBox().viewRange()[1] == [0.0, 100.0]
    assert dashboard.resp_plot.getViewBox().viewRange()[1][1] <= 5.0  # a 4 ms p99 fills its plot


def test_top_apps_have_sparklines(qtbot: QtBot, dashboard: DashboardWindow) -> None:
    qtbot.waitUntil(lambda: len(dashboard.top_plot.sparks[0].values) >= 2, timeout=TIMEOUT)
    spark = dashboard.top_plot.sparks[0]
    assert spark.isVisible() and dashboard.top_plot.names[0].text()
    points = spark.points()
    assert len(points) == len(spark.values)
    bottom = spark.height() - 1
    for point, value in zip(points, spark.values, strict=True):
        assert abs(point.y() - (bottom - (spark.height() - 2) * value / spark.top())) < 0.01
    assert points[-1].x() == pytest.approx(spark.width() - 1)


def test_demotions_are_marked_on_the_cpu_plot(
    qtbot: QtBot, dashboard: DashboardWindow, tmp_path: Path
) -> None:
    """A compiler started while the dashboard is open is demoted by rule: a mark says so."""
    polls = dashboard.top_plot.sparks  # any poll fills the first sparkline
    qtbot.waitUntil(lambda: len(polls[0].values) >= 1, timeout=TIMEOUT)
    hog = spawn_hog(named_binary(tmp_path, "cc1plus"), new_session=True)
    try:
        qtbot.waitUntil(
            lambda: any(k == "demoted" and "cc1plus" in t for _, t, k, _ in dashboard.cpu_plot.marks),
            timeout=TIMEOUT,
        )
    finally:
        stop(hog)
    when, text, _, line = next(m for m in dashboard.cpu_plot.marks if "cc1plus" in m[1])
    assert text.startswith("▼ cc1plus") and "background" in text
    assert abs(when - time.time()) < 30 and line.value() == when


def test_demotion_changes() -> None:
    build = {"id": "a", "name": "make", "class": "normal", "members": []}
    events, state = changes(None, [build], lambda a: a["name"])
    assert events == []  # the first poll saw no change
    busy = dict(build, members=[{"pid": 2, "class": "background", "label": "compiler"}] * 3)
    events, state = changes(state, [busy], lambda a: a["name"])
    assert events == [("demoted", "▼ make: 3 compilers")]
    events, state = changes(state, [busy], lambda a: a["name"])
    assert events == []
    events, state = changes(state, [build], lambda a: a["name"])
    assert events == [("restored", "▲ make restored")]
    events, _ = changes(state, [dict(build, id="b", **{"class": "idle"})], lambda a: a["name"])
    assert events == [("demoted", "▼ make: idle")]
    one = dict(build, members=[{"pid": 2, "class": "idle", "label": "compiler"}])
    mixed = dict(build, members=[{"pid": 2, "class": "idle", "label": "compiler"},
                                 {"pid": 3, "class": "background", "label": "linker"}])  # fmt: skip
    assert changes({"a": ""}, [one], lambda a: a["name"])[0] == [("demoted", "▼ make: 1 compiler")]
    assert changes({"a": ""}, [mixed], lambda a: a["name"])[0] == [("demoted", "▼ make: 2 processes")]


def test_plots_follow_the_theme(qtbot: QtBot) -> None:
    """Dark palette: dark plots with light text; back to light, and every plot follows."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from smoothdesk.gui.plots import TimePlot

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    original = app.palette()
    dark = QPalette(original)
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1f22"))
    dark.setColor(QPalette.ColorRole.Window, QColor("#2b2d30"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e8e8e8"))
    try:
        app.setPalette(dark)
        plot = TimePlot("CPU", "%", {"cpu_busy": "total"})
        qtbot.addWidget(plot)
        assert plot.backgroundBrush().color().name() == "#1e1f22"
        assert plot.getAxis("left").textPen().color().name() == "#e8e8e8"
        light = QPalette(original)
        light.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
        light.setColor(QPalette.ColorRole.Text, QColor("#101010"))
        app.setPalette(light)
        qtbot.waitUntil(lambda: plot.backgroundBrush().color().name() == "#ffffff", timeout=TIMEOUT)
        assert plot.getAxis("left").textPen().color().name() == "#101010"
        assert plot.theme == ("#ffffff", "#101010")
    finally:
        app.setPalette(original)


def test_an_empty_plot_is_painted_once_until_data_comes(qtbot: QtBot) -> None:
    from smoothdesk.gui.plots import TimePlot

    plot = TimePlot("Focused app waiting for the CPU", "ms per second", {"focus_cpu_wait_ms": "waited"})
    qtbot.addWidget(plot)
    now = time.time()
    assert plot.finish(now - 60, now)  # the first picture: axes and "no data yet"
    assert not plot.finish(now - 59, now + 1)
    plot.set_series("focus_cpu_wait_ms", [now], [3.0])
    assert plot.finish(now - 58, now + 2) and not plot.empty_text.isVisible()
    assert plot.finish(now - 57, now + 3)  # with data, the time axis moves every redraw
