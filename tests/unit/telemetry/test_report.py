"""Reports from a real snapshot log: the since parser, statistics, JSON, CSV and the HTML charts."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from store_data import observation, sample

from smoothdesk.telemetry.report import ReportError, build_report, parse_since
from smoothdesk.telemetry.report_format import HEIGHT, PAD, WIDTH, render_report, to_csv
from smoothdesk.telemetry.store import SnapshotStore

NOW = 100_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1h30m", 5400), ("45", 45)],
)
def test_parse_since(text: str, seconds: float) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "24x", "h", "-5m", "0", "1h 30m", "24hours", "nan"])
def test_parse_since_rejects_with_the_argument_named(text: str) -> None:
    with pytest.raises(ReportError, match=r"--since"):
        parse_since(text)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SnapshotStore]:
    """1000 ticks one second apart ending at NOW; app0 idles at 1% CPU, app3 burns 150%."""
    rng = random.Random(5)
    store = SnapshotStore.open(tmp_path / "log.sqlite")
    for t in range(1000):
        ts = NOW - 999 + t
        s = sample(ts, rng) | {"cpu_busy": float(t % 100)}
        groups = [
            replace(observation(ts, 0, rng, "normal"), cpu_tick=1.0, rss_bytes=10 << 20),
            replace(observation(ts, 3, rng, "background"), cpu_tick=150.0, rss_bytes=5 << 20),
            replace(observation(ts, 4, rng, "idle"), cpu_tick=0.0, rss_bytes=(900 << 20) if t == 500 else 1),
        ]
        klass = "background" if t >= 990 else "normal"
        store.write_tick(ts, s, [], groups, [(groups[1].group_id, klass, "noisy")])
        if t % 100 == 0:
            store.write_focus(ts, groups[0].group_id, 1, "focus")
    yield store
    store.close()


def test_report_content(store: SnapshotStore) -> None:
    report = build_report(store, 599.5, NOW)
    assert report["range"] == {
        "first": NOW - 599, "last": NOW, "ticks": 600, "tick_seconds": 1.0, "rolled_up_minutes": 0,
        "raw_first": NOW - 599, "groups_first": NOW - 599, "thinned_minutes": 0,
        "group_row_seconds": {"raw": 1.0, "thinned": 60.0},
    }  # fmt: skip
    cpu = report["metrics"]["cpu_busy"]  # t % 100 over the last 600 ticks: 0..99 six times
    assert (cpu["count"], cpu["mean"], cpu["p50"], cpu["p95"], cpu["max"]) == (600, 49.5, 49.0, 94.0, 99.0)
    assert "latency_p99_ms" in report["metrics"]
    assert [a["name"] for a in report["top_apps"]["cpu"]] == ["app3", "app0", "app4"]
    assert report["top_apps"]["cpu"][0]["cpu_percent_mean"] == 150.0
    assert report["top_apps"]["memory"][0]["name"] == "app4"  # the 900 MiB peak at t=500
    assert report["class_seconds"] == {"background": 600.0, "idle": 600.0, "normal": 600.0}
    assert report["decisions"] == 1  # only the change at t=990 is inside the range
    assert report["focus_events"] == 6 and report["problems"] == []
    assert all(len(v) == 600 for v in report["series"].values())


def test_series_are_downsampled_to_the_limit(store: SnapshotStore) -> None:
    report = build_report(store, 10_000, NOW, max_points=100)
    series = report["series"]
    assert len(series["time"]) == 100 and len(series["cpu_busy"]) == 100
    assert series["time"][0] == NOW - 999 + 4.5  # mean of the first bucket of 10 ticks
    assert series["cpu_busy"][0] == 4.5


def test_json_round_trips(store: SnapshotStore) -> None:
    text = render_report(store, 3600, "json", now=NOW)
    assert json.loads(text) == json.loads(json.dumps(build_report(store, 3600, NOW)))


def test_csv_has_one_row_per_sample(store: SnapshotStore) -> None:
    rows = list(csv.DictReader(io.StringIO(render_report(store, 300, "csv", now=NOW))))
    samples = store.samples(NOW - 300, NOW)
    assert len(rows) == len(samples) == 301
    assert list(rows[0])[:3] == ["time", "cpu_busy", "psi_cpu_some"] and "latency_p99_ms" in rows[0]
    assert [float(r["cpu_busy"]) for r in rows] == [s["cpu_busy"] for s in samples]
    assert to_csv([{"time": 1.0, "odd": 2.0}]).splitlines()[1].endswith(",2.0")


def test_html_is_self_contained_with_a_chart_per_metric_group(store: SnapshotStore) -> None:
    page = render_report(store, 599.5, "html", now=NOW)
    report = build_report(store, 599.5, NOW)
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count("<svg") == 4  # CPU, memory, PSI, latency
    cpu_points = re.search(r'data-series="cpu_busy" points="([^"]+)"', page)
    assert cpu_points is not None
    points = [tuple(map(float, p.split(","))) for p in cpu_points.group(1).split()]
    values = report["series"]["cpu_busy"]
    assert len(points) == len(values) == 600
    # x is derived from the time, y from the value: 0 at the bottom, the maximum (99) at the top.
    times = report["series"]["time"]
    for (x, y), t, v in zip(points, times, values, strict=True):
        assert x == pytest.approx(PAD + (t - times[0]) / (times[-1] - times[0]) * (WIDTH - 2 * PAD), abs=0.06)
        assert y == pytest.approx(HEIGHT - PAD - v / 99.0 * (HEIGHT - 2 * PAD), abs=0.06)
    assert points[0][0] == PAD and points[-1][0] == WIDTH - PAD
    assert 'data-series="psi_io_some"' in page and "app3" in page


def test_unknown_format_is_refused(store: SnapshotStore) -> None:
    with pytest.raises(ReportError, match="--format 'pdf'"):
        render_report(store, 60, "pdf", now=NOW)


def test_report_of_an_empty_range(store: SnapshotStore) -> None:
    report = build_report(store, 60, NOW - 5000)
    assert report["range"]["ticks"] == 0 and report["metrics"] == {} and report["top_apps"]["cpu"] == []
    assert "<svg" not in render_report(store, 60, "html", now=NOW - 5000)


def test_a_long_report_reads_rollups_for_the_old_part(tmp_path: Path) -> None:
    """Three hours at 1 s; the report before and after the first two are rolled up into minutes."""
    start = 1_700_000_000.0 - 1_700_000_000.0 % 3600
    now = start + 3 * 3600
    store = SnapshotStore.open(tmp_path / "log.sqlite", max_age_s=10**9)
    for t in range(3 * 3600):
        figures = {"cpu_busy": float(t % 97) / 4, "latency_p99_ms": 0.5 + (t % 600 == 0) * 40}
        store.write_tick(start + t, figures, [], [], [("unit:a", "normal", str(t // 700))])
    before = build_report(store, 4 * 3600, now, max_points=180)
    store.raw_s = 3600.0
    assert store.enforce_retention(now=now).rolled_up_minutes == 120
    after = build_report(store, 4 * 3600, now, max_points=180)
    csv_rows = list(csv.DictReader(io.StringIO(render_report(store, 4 * 3600, "csv", now=now))))
    page = render_report(store, 4 * 3600, "html", now=now)
    store.close()
    assert after["range"]["rolled_up_minutes"] == 120 and after["range"]["raw_first"] == start + 7200
    for key in ("first", "last", "ticks", "tick_seconds"):
        assert after["range"][key] == before["range"][key], key
    assert after["decisions"] == before["decisions"] == 16
    for name in ("cpu_busy", "latency_p99_ms"):
        exact = {k: v for k, v in before["metrics"][name].items() if k not in ("p50", "p95")}
        assert {k: v for k, v in after["metrics"][name].items() if k not in ("p50", "p95", "rolled_up")} == {
            k: v for k, v in exact.items() if k != "rolled_up"
        }
        assert after["metrics"][name]["rolled_up"] == 7200 and before["metrics"][name]["rolled_up"] == 0
    # The 40 ms spikes are 1 in 600 ticks: p95 misses them both ways; the max keeps them.
    assert after["metrics"]["latency_p99_ms"]["max"] == 40.5
    # One point per minute either way: the minute means are the same numbers.
    assert after["series"] == before["series"] and len(after["series"]["time"]) == 180
    assert len(csv_rows) == 120 + 3600 and list(csv_rows[0])[:2] == ["time", "ticks"]
    assert (csv_rows[0]["ticks"], csv_rows[-1]["ticks"]) == ("60", "1")
    assert float(csv_rows[0]["cpu_busy"]) == sum(t % 97 / 4 for t in range(60)) / 60
    assert "per-minute rollups (120 minutes)" in page
    assert "application and class tables use one group row per minute there" in page


def test_top_apps_and_class_time_read_thinned_rows_weighted_by_their_spacing(tmp_path: Path) -> None:
    """Three hours at 1 s, groups every 10 s (as the helper logs them); the first two hours thinned."""
    start = 1_700_000_000.0 - 1_700_000_000.0 % 3600
    now = start + 3 * 3600
    rng = random.Random(7)
    store = SnapshotStore.open(tmp_path / "log.sqlite", max_age_s=10**9)
    for t in range(3 * 3600):
        ts = start + t
        if t % 10:
            store.write_tick(ts, sample(ts, rng), [], [], [])
            continue
        groups = [
            replace(observation(ts, 0, rng, "normal"), cpu_tick=40.0, rss_bytes=100),
            replace(observation(ts, 3, rng, "background" if t < 3600 else "idle"), cpu_tick=float(t // 3600)),
        ]
        store.write_tick(ts, sample(ts, rng), [], groups, [])
    before = build_report(store, 3 * 3600, now)
    store.raw_s = 3600.0
    store.enforce_retention(now=now)
    after = build_report(store, 3 * 3600, now)
    store.close()
    rng_before, rng_after = before["range"], after["range"]
    assert rng_before["group_row_seconds"] == {"raw": 10.0, "thinned": 60.0}
    assert (rng_after["thinned_minutes"], rng_after["raw_first"], rng_after["groups_first"]) == (
        120, start + 7200, start,
    )  # fmt: skip
    # Each group is seen for the whole 3 h either way: 1080 rows of 10 s, or 120 of 60 s + 360 of 10 s.
    assert before["class_seconds"] == after["class_seconds"] == {
        "background": 3600.0, "idle": 7200.0, "normal": 10800.0,
    }  # fmt: skip
    for report in (before, after):
        cpu = {a["name"]: a["cpu_percent_mean"] for a in report["top_apps"]["cpu"]}
        assert cpu == {"app0": 40.0, "app3": pytest.approx(1.0)}  # (0 + 1 + 2) / 3 hours
        assert report["top_apps"]["memory"][1]["rss_bytes_mean"] == 100.0
    assert [a["ticks_seen"] for a in after["top_apps"]["cpu"]] == [480, 480]
