"""Telemetry wired into a real helper: probe figures, alerts, SLOs, reports, the exporter, the log."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.procs import wait_for
from tests.support.users import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Helper:
    address: str
    proc: subprocess.Popen[bytes]
    state: Path
    port: int


def ctl(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smoothdesk.cli.main", "--bus", address, *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip


def ctl_json(address: str, *args: str) -> Any:
    done = ctl(address, "--json", *args)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def helper(bus_address: str, tmp_path: Path, private_state_dir: Path) -> Iterator[Helper]:
    port = free_port()
    config = tmp_path / "c.toml"
    # Thresholds any machine passes at once, so that an alert is certain to fire within a second.
    config.write_text(
        "[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\n"
        "[alerts]\ncpu_busy_warning = 0.0\ncpu_busy_critical = 100.0\nraise_after = 0.0\n"
        f"[store]\ndetail_every = 0.0\n[exporter]\nenabled = true\nport = {port}\n"
    )
    log = tmp_path / "helper.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.helper.main", "--bus", bus_address, "--user",
             "--config", str(config), "--run-dir", str(tmp_path / "run")],
            stderr=stderr,
        )  # fmt: skip
    try:
        assert wait_for(lambda: ctl(bus_address, "status").returncode == 0, 20), log.read_text()
        yield Helper(bus_address, proc, private_state_dir, port)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()


def latest(address: str) -> dict[str, Any]:
    samples = ctl_json(address, "history", "--since", "30s")
    return samples[-1] if samples else {}


def test_samples_carry_latency_score_and_per_class_cpu(helper: Helper) -> None:
    assert wait_for(lambda: "latency_p99_ms" in latest(helper.address), 15)
    sample = latest(helper.address)
    assert 0.0 <= sample["latency_p50_ms"] <= sample["latency_p95_ms"] <= sample["latency_p99_ms"]
    assert 0.0 <= sample["score"] <= 100.0
    assert set(sample["cpu_by_class"]) <= {"critical", "interactive", "normal", "background", "idle"}
    assert 0.0 <= sample["memory_available_percent"] <= 100.0
    assert any(k.startswith("disk_used_percent:") for k in sample)


def test_probe_sampler_runs_in_the_helpers_own_group(helper: Helper) -> None:
    doctor = {f["key"]: f for f in ctl_json(helper.address, "doctor", "--helper")}
    assert doctor["latency probe"]["status"] == "ok", doctor["latency probe"]
    assert doctor["snapshot log"]["status"] == "ok", doctor["snapshot log"]
    assert doctor["ranker"]["status"] == "ok", doctor["ranker"]
    assert "no GPU" in doctor["gpu"]["summary"] or doctor["gpu"]["status"] == "ok"
    sampler = int(doctor["latency probe"]["summary"].split()[2].rstrip(","))
    assert Path(f"/proc/{sampler}").exists()
    holders = [app for app in ctl_json(helper.address, "apps") if sampler in app.get("pids", [])]
    # In SmoothDesk's own group, which guardrails keep unmanaged, not in some app of the user's.
    assert [app["id"] for app in holders] == ["self"], holders


def test_alert_fires_and_is_listed(helper: Helper) -> None:
    def cpu_alert() -> dict[str, Any] | None:
        alerts = ctl_json(helper.address, "alerts")
        return next((a for a in alerts if a["id"] == "cpu_busy_percent"), None)

    assert wait_for(lambda: cpu_alert() is not None, 15)
    alert = cpu_alert()
    assert alert is not None and alert["severity"] in {"warning", "critical"}
    assert "CPU busy" in alert["message"]


def test_slo_status_lists_the_default_objectives(helper: Helper) -> None:
    slos = ctl_json(helper.address, "slo")
    assert {s["name"] for s in slos} >= {"sched-p99", "cpu-psi"} or len(slos) == 3, slos
    assert all(0.0 < s["objective"] < 1.0 for s in slos)
    text = ctl(helper.address, "slo").stdout
    assert "BUDGET-LEFT" in text


def test_reports_come_from_the_snapshot_log(helper: Helper, tmp_path: Path) -> None:
    def csv_rows() -> int:
        done = ctl(helper.address, "report", "--since", "1h", "--format", "csv")
        return len(done.stdout.splitlines()) - 1 if done.returncode == 0 else -1

    assert wait_for(lambda: csv_rows() >= 5, 20)
    html = tmp_path / "r.html"
    done = ctl(helper.address, "report", "--since", "10m", "--format", "html", "-o", str(html))
    assert done.returncode == 0, done.stderr
    assert html.read_text().count("<svg") >= 2
    report = json.loads(ctl(helper.address, "report", "--since", "10m").stdout)
    assert report["range"]["ticks"] >= 5
    assert report["metrics"]["cpu_busy"]["max"] >= report["metrics"]["cpu_busy"]["p50"]
    assert report["decisions"] > 0 and report["top_apps"]
    bad = ctl(helper.address, "report", "--since", "soon")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_exporter_serves_parsable_metrics(helper: Helper) -> None:
    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{helper.port}/metrics", timeout=5) as r:
            return str(r.read().decode())

    assert wait_for(lambda: "smoothdesk_up 1.0" in scrape(), 15)
    names = {f.name for f in text_string_to_metric_families(scrape())}
    assert {"smoothdesk_up", "smoothdesk_cpu_busy_percent"} <= names, names


def test_log_survives_stop_and_passes_integrity_check(helper: Helper) -> None:
    db = helper.state / "snapshots.sqlite"
    assert wait_for(db.exists, 10)
    assert wait_for(lambda: ctl(helper.address, "report", "--format", "csv").stdout.count("\n") > 3, 20)
    helper.proc.send_signal(signal.SIGTERM)
    assert helper.proc.wait(timeout=20) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM samples").fetchone()[0] >= 3
        assert conn.execute("SELECT count(*) FROM app_groups").fetchone()[0] > 0
