"""The Prometheus exporter over real HTTP on 127.0.0.1, parsed with prometheus_client's own parser."""

from __future__ import annotations

import random
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from store_data import observation

from smoothdesk.telemetry.exporter import Exporter, ExporterError
from smoothdesk.telemetry.exporter_metrics import Latest

SAMPLE = {
    "time": 1.0,
    "cpu_busy": 37.5,
    "psi_cpu_some": 12.0,
    "psi_io_some": 1.5,
    "psi_memory_some": 0.25,
    "mem_available": 2.5e9,
    "demoted": 3,
    "tick_cost_ms": 4.0,
    "latency_p99_ms": 2.75,
}


def scrape(exporter: Exporter) -> dict[str, list[Sample]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=30) as response:
        text = response.read().decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


@pytest.fixture
def latest() -> Iterator[list[Latest | None]]:
    yield [None]


def serve(holder: list[Latest | None], top_apps: int = 10) -> Exporter:
    return Exporter(lambda: holder[0], address="127.0.0.1", port=0, top_apps=top_apps)


def test_metrics_names_and_values(latest: list[Latest | None]) -> None:
    rng = random.Random(1)
    groups = [
        replace(observation(1.0, 0, rng, "interactive"), name="firefox", cpu_tick=20.0, rss_bytes=800),
        replace(observation(1.0, 1, rng, "background"), name="cc1plus", cpu_tick=190.0, rss_bytes=100),
        replace(observation(1.0, 2, rng, "background"), name="cc1plus", cpu_tick=10.0, rss_bytes=50),
    ]
    exporter = serve(latest)
    try:
        assert scrape(exporter)["smoothdesk_up"][0].value == 0.0  # no tick yet
        latest[0] = Latest(SAMPLE, groups)
        m = scrape(exporter)
    finally:
        exporter.close()
    assert m["smoothdesk_up"][0].value == 1.0
    assert m["smoothdesk_cpu_busy_percent"][0].value == 37.5
    assert m["smoothdesk_memory_available_bytes"][0].value == 2.5e9
    assert m["smoothdesk_tick_cost_seconds"][0].value == 0.004
    assert m["smoothdesk_latency_p99_ms"][0].value == 2.75
    psi = {s.labels["resource"]: s.value for s in m["smoothdesk_psi_some_percent"]}
    assert psi == {"cpu": 12.0, "io": 1.5, "memory": 0.25}
    groups_per_class = {s.labels["class"]: s.value for s in m["smoothdesk_groups"]}
    assert groups_per_class == {"critical": 0, "interactive": 1, "normal": 0, "background": 2, "idle": 0}
    assert {s.labels["class"]: s.value for s in m["smoothdesk_class_cpu_percent"]}["background"] == 200.0
    apps = {s.labels["app"]: s.value for s in m["smoothdesk_app_cpu_percent"]}
    assert apps == {"cc1plus": 200.0, "firefox": 20.0, "other": 0.0}


def test_label_cardinality_stays_bounded_with_500_apps(latest: list[Latest | None]) -> None:
    rng = random.Random(2)
    groups = [
        replace(
            observation(1.0, i, rng, ("normal", "idle", "weird-class")[i % 3]),
            name=f"app{i}",
            cpu_tick=float(i),
        )
        for i in range(500)
    ]
    latest[0] = Latest(SAMPLE, groups)
    exporter = serve(latest, top_apps=10)
    try:
        m = scrape(exporter)
    finally:
        exporter.close()
    apps = {s.labels["app"]: s.value for s in m["smoothdesk_app_cpu_percent"]}
    assert len(apps) == 11 and set(apps) == {f"app{i}" for i in range(490, 500)} | {"other"}
    assert apps["other"] == sum(range(490))  # nothing lost, only folded
    assert len(m["smoothdesk_app_rss_bytes"]) == 11
    assert {s.labels["class"] for s in m["smoothdesk_groups"]} == {
        "critical",
        "interactive",
        "normal",
        "background",
        "idle",
    }
    total_series = sum(len(samples) for samples in m.values())
    assert total_series < 70, total_series


def test_a_failing_source_shows_up_as_down(latest: list[Latest | None]) -> None:
    def broken() -> Latest | None:
        raise RuntimeError("helper state unavailable")

    exporter = Exporter(broken, port=0)
    try:
        m = scrape(exporter)
    finally:
        exporter.close()
    assert m["smoothdesk_up"][0].value == 0.0 and "smoothdesk_cpu_busy_percent" not in m


def test_non_loopback_needs_an_explicit_option() -> None:
    with pytest.raises(ExporterError, match="allow_remote"):
        Exporter(lambda: None, address="0.0.0.0", port=0)
    with pytest.raises(ExporterError, match="not an IP address"):
        Exporter(lambda: None, address="example.org", port=0)
    exporter = Exporter(lambda: None, address="0.0.0.0", port=0, allow_remote=True)
    exporter.close()


def test_a_port_in_use_is_a_clear_error(latest: list[Latest | None]) -> None:
    first = serve(latest)
    try:
        with pytest.raises(ExporterError, match=rf"127\.0\.0\.1:{first.port}"):
            Exporter(lambda: None, port=first.port)
    finally:
        first.close()


def test_cpu_waits_are_one_family_per_figure_labelled_by_role(latest: list[Latest | None]) -> None:
    sample = {
        **SAMPLE,
        "focus_cpu_wait_ms": 14.0,
        "focus_cpu_wait_max_ms": 3.5,
        "focus_cpu_wait_pct": 1.25,
        "compositor_cpu_wait_ms": 2.0,
        "compositor_cpu_wait_max_ms": 0.5,
        "compositor_cpu_wait_pct": 0.2,
    }
    exporter = serve(latest)
    try:
        latest[0] = Latest(sample, [])
        m = scrape(exporter)
    finally:
        exporter.close()
    per_s = {s.labels["role"]: s.value for s in m["smoothdesk_cpu_wait_ms_per_second"]}
    assert per_s == {"focus": 14.0, "compositor": 2.0}, "no audio agent: no audio series, not a 0"
    assert {s.labels["role"]: s.value for s in m["smoothdesk_cpu_wait_worst_ms"]}["focus"] == 3.5
    assert {s.labels["role"]: s.value for s in m["smoothdesk_cpu_wait_share_percent"]}["focus"] == 1.25
    assert "smoothdesk_focus_cpu_wait_ms" not in m  # not exported twice as a loose extra


def test_each_tick_shows_its_sample_and_new_rows_replace_the_old(latest: list[Latest | None]) -> None:
    """The rows' families are kept while the rows stay (they change every detail tick), the
    sample's are fresh each tick; rows of a later detail tick are summed again."""
    rng = random.Random(3)
    rows = [replace(observation(1.0, 0, rng, "normal"), name="editor", cpu_tick=5.0)]
    exporter = serve(latest)
    try:
        latest[0] = Latest(SAMPLE, rows)
        first = scrape(exporter)
        latest[0] = Latest({**SAMPLE, "cpu_busy": 80.0}, rows)
        second = scrape(exporter)
        later = [replace(observation(31.0, 0, rng, "background"), name="editor", cpu_tick=70.0)]
        latest[0] = Latest({**SAMPLE, "cpu_busy": 90.0}, later)
        third = scrape(exporter)
    finally:
        exporter.close()
    busy = [m["smoothdesk_cpu_busy_percent"][0].value for m in (first, second, third)]
    assert busy == [37.5, 80.0, 90.0]
    apps = [
        {s.labels["app"]: s.value for s in m["smoothdesk_app_cpu_percent"]} for m in (first, second, third)
    ]
    assert apps[0]["editor"] == apps[1]["editor"] == 5.0 and apps[2]["editor"] == 70.0
    classes = {s.labels["class"]: s.value for s in third["smoothdesk_groups"]}
    assert classes["background"] == 1 and classes["normal"] == 0
