"""bench_realload's parts on real processes (not its timing): the storm, the topologies, the parsers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smoothdesk.collector.cgroups import parse_cgroup
from smoothdesk.policy.grouper import group_unit
from tests.support.tools import needs

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import realload_measures as m  # noqa: E402
import storm  # noqa: E402
from realload_topology import App, FakeUnit  # noqa: E402

MISSING = [t for t in ("make", "gcc", "as", "cyclictest") if shutil.which(t) is None]
pytestmark = needs(MISSING, "bench_realload's parts")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (cgroups, SCHED_FIFO)")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    # Small units: the test checks what runs, not how long it takes.
    directory = storm.write_project(tmp_path / "storm", units=4, funcs=6)
    yield directory
    storm.stop(directory)


@pytest.fixture
def shells(project: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    storm.stop(project)
    for shell in started:
        shell.wait(timeout=10)


def stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2 :].split()


class Watch:
    """What the storm ran, sampled every 5 ms (the load of a shared machine only makes it slower)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.names: set[str] = set()
        self.most_cc1 = 0

    def until(self, done: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"timed out; saw {sorted(self.names)}, {self.most_cc1} cc1"
            comms = [storm.comm(p) for p in storm.members(self.directory)]
            self.names.update(comms)
            self.most_cc1 = max(self.most_cc1, comms.count("cc1"))
            time.sleep(0.005)


def objects(directory: Path) -> dict[Path, int]:
    return {o: o.stat().st_mtime_ns for o in directory.glob("*.o")}


def test_storm_runs_real_compilers_in_parallel_loops_and_stops(
    project: Path, shells: list[subprocess.Popen[bytes]]
) -> None:
    shells.append(subprocess.Popen(storm.storm_argv(project, jobs=2), cwd=project, start_new_session=True))
    watch = Watch(project)
    watch.until(lambda: watch.most_cc1 >= 2 and len(objects(project)) == 4)
    assert {"sh", "make", "gcc", "cc1"} <= watch.names
    assert watch.most_cc1 == 2, "make -j2 runs 2 compilers at once, never more"
    first = objects(project)
    elf: set[Path] = set()  # as wrote real objects (each seen complete once: the loop rewrites them)

    def all_elf() -> bool:
        elf.update(o for o in first if o.read_bytes()[:4] == b"\x7fELF")
        return len(elf) == 4

    watch.until(all_elf)
    watch.until(lambda: all(t2 != first[o] for o, t2 in objects(project).items()))  # rebuilt, looping
    storm.stop(project)
    assert storm.members(project) == []
    assert shells[0].wait(timeout=5) == -9


def test_nice_storm_is_born_nice(project: Path, shells: list[subprocess.Popen[bytes]]) -> None:
    argv = storm.storm_argv(project, jobs=2, nice=19)
    shells.append(subprocess.Popen(argv, cwd=project, start_new_session=True))
    watch = Watch(project)
    watch.until(lambda: "cc1" in watch.names)
    nices = {int(stat_fields(p)[16]) for p in storm.members(project)}
    assert nices == {19}


def test_child_topology_puts_the_storm_in_the_apps_session_and_group(project: Path) -> None:
    app = App()
    try:
        app.ask(op="spawn", argv=storm.storm_argv(project, jobs=2), cwd=str(project))
        watch = Watch(project)
        watch.until(lambda: "cc1" in watch.names)
        members = storm.members(project)
        app_stat = stat_fields(app.pid)
        assert app_stat[3] == str(app.pid) and app_stat[2] == str(app.pid)  # its own session leader
        assert {tuple(stat_fields(p)[2:4]) for p in members} == {(str(app.pid), str(app.pid))}
        run = app.ask(op="run", argv=["sh", "-c", "ps -o sid=,pgid= -p $$"])
        assert run["out"].split() == [str(app.pid), str(app.pid)]
        storm.stop(project)
        assert app.ask(op="reap")["reaped"]
    finally:
        app.close()


@root_only
def test_fake_unit_is_the_unit_the_collector_and_grouper_read(project: Path) -> None:
    unit = FakeUnit()
    try:
        app = App(unit.procs)
        try:
            text = Path(f"/proc/{app.pid}/cgroup").read_text()
            info = parse_cgroup(text)
            assert info.unit == unit.name and group_unit(info.unit) == unit.name
            child = app.ask(op="run", argv=["cat", "/proc/self/cgroup"])["out"]
            assert parse_cgroup(child).unit == unit.name
        finally:
            app.close()
    finally:
        unit.close()
    assert not unit.path.exists()


def test_cyclictest_parser_on_a_real_run() -> None:
    out = subprocess.run(m.cyclictest_argv(0.4, fifo=False), capture_output=True, text=True, check=True)
    fig = m.parse_cyclictest(out.stdout)
    assert fig["samples"] == 100
    assert 0 < fig["p50"] <= fig["p99"] <= fig["max"]


@root_only
def test_fifo_variants_run_at_sched_fifo() -> None:
    out = subprocess.run(m.cyclictest_argv(0.2, fifo=True), capture_output=True, text=True, check=True)
    assert m.parse_cyclictest(out.stdout)["samples"] == 50
    policy = subprocess.run(
        [*m.launch_argv(fifo=True)[:3], "python3", "-c", "import os; print(os.sched_getscheduler(0))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert policy.stdout.strip() == str(os.SCHED_FIFO)


def test_cyclictest_parser_rank_overflow_and_errors() -> None:
    text = "# Histogram\n000010 000097\n000020 000001\n# Total: 000000098\n# Max Latencies: 00900\n"
    text += "# Histogram Overflows: 00002\n# Histogram Overflow at cycle number:\n# Thread 0: 00042 00077\n"
    fig = m.parse_cyclictest(text)
    assert (fig["samples"], fig["p50"], fig["max"], fig["overflows"]) == (100, 10, 900, 2)
    assert fig["p99"] == 900  # sample 99 of 100 is past the histogram: counted at the max
    with pytest.raises(m.ParseError, match="line 2"):
        m.parse_cyclictest("# Histogram\n000010 oops\n")
    with pytest.raises(m.ParseError, match="Max Latencies"):
        m.parse_cyclictest("000010 000001\n")


def test_waker_reports_wake_and_completion(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    subprocess.run(["gcc", "-O2", "-o", str(probe), str(BENCH / "probe.c")], check=True)
    out = subprocess.run(m.waker_argv(probe, 0.2, fifo=False), capture_output=True, text=True, check=True)
    fig = m.parse_waker(out.stdout)
    assert fig["samples"] == 50
    # Completion counts from the deadline and includes the 0.5 ms of CPU work.
    assert fig["done_p99"] >= 500 and fig["done_p99"] >= fig["p99"]


def test_waker_reports_the_slice_it_ran_with(tmp_path: Path) -> None:
    from smoothdesk.actuator import slices

    if not slices.honoured():
        pytest.skip("this kernel does not honour EEVDF custom slices")
    probe = tmp_path / "probe"
    subprocess.run(["gcc", "-O2", "-o", str(probe), str(BENCH / "probe.c")], check=True)
    plain = subprocess.run(m.waker_argv(probe, 0.05, fifo=False), capture_output=True, text=True, check=True)
    assert m.parse_waker(plain.stdout)["slice_us"] == slices.base_slice_ns() / 1000
    # A custom slice set in the child before exec survives the exec, as one set by a helper would.
    custom = subprocess.run(
        m.waker_argv(probe, 0.05, fifo=False),
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: slices.set_slice(0, 300_000),
    )
    assert m.parse_waker(custom.stdout)["slice_us"] == 300
