"""A build inside an app demotes the build, not the app: real processes under a real helper.

Each topology puts an app (a shell), a latency-sensitive member that matches no rule, and two
compiler hogs in one app group: the same process group, or the same systemd app scope (faked in
the name=systemd v1 hierarchy, as the desktop's systemd would create it). The member and the app
must keep every lever as it was, while the compilers are demoted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.helperproc import Helper, ctl, demoted
from tests.support.procs import named_binary, sched_state, stop, wait_for

pytestmark = pytest.mark.root

SYSTEMD_V1 = Path("/sys/fs/cgroup/systemd")


def children_named(pid: int, name: str) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if Path(f"/proc/{child}/comm").read_text().strip() == name:
                out.append(int(child))
    return out


def start_app(tmp: Path, **popen: object) -> subprocess.Popen[bytes]:
    """An app that runs a quiet helper of its own and then a build of two compilers."""
    app, member, cc1 = (named_binary(tmp, n) for n in ("sdtestide", "sdtestmember", "cc1plus"))
    script = (
        f"{member} -c 'while :; do sleep 0.05; done' & "
        f"{cc1} -c 'while :; do :; done' & {cc1} -c 'while :; do :; done' & wait"
    )
    return subprocess.Popen([str(app), "-c", script], **popen)  # type: ignore[call-overload]


@contextlib.contextmanager
def fake_scope(pids: list[int]) -> Iterator[str]:
    """An app-*.scope in the name=systemd hierarchy holding the pids, as systemd would make it."""
    name = f"app-smoothtest-{uuid.uuid4().hex[:8]}.scope"
    scope = SYSTEMD_V1 / "user.slice" / name
    scope.mkdir(parents=True)
    try:
        for pid in pids:
            (scope / "cgroup.procs").write_text(str(pid))
        yield name
    finally:
        # The member forks a sleep every 50 ms, born in the scope: empty it until it stays empty.
        for _ in range(100):
            for pid in (scope / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (SYSTEMD_V1 / "cgroup.procs").write_text(pid)
            try:
                scope.rmdir()
                break
            except OSError:
                time.sleep(0.02)
        else:
            scope.rmdir()


def check_only_the_build_is_demoted(helper: Helper, app: subprocess.Popen[bytes], app_ref: str) -> None:
    assert wait_for(lambda: len(children_named(app.pid, "cc1plus")) == 2, 5)
    member = children_named(app.pid, "sdtestmember")[0]
    compilers = children_named(app.pid, "cc1plus")
    before = {pid: sched_state(pid) for pid in (app.pid, member)}
    helper.start()
    assert wait_for(lambda: all(demoted(c) for c in compilers), 5), helper.log.read_text()
    # A few more ticks: the noisy heuristic sees the group's CPU too, and must not take the app.
    listed = {a["id"]: a for a in ctl(helper.bus, "apps")}
    ours = next(a for a in listed.values() if app.pid in a["pids"])
    assert ours["id"] == app_ref or ours["name"] == app_ref
    assert ours["class"] == "normal"
    assert ours["summary"] == "normal · 2 compilers background", ours
    assert {m["pid"] for m in ours["members"]} == set(compilers)
    assert any("cc1plus → compiler → background" in r for r in ours["reasons"]), ours["reasons"]
    for _ in range(10):
        assert {pid: sched_state(pid) for pid in before} == before
        assert all(demoted(c) for c in compilers)
        wait_for(lambda: False, 0.2)
    assert helper.signal(signal.SIGTERM) == 0
    assert not any(demoted(c) for c in compilers)
    assert {pid: sched_state(pid) for pid in before} == before


def test_a_build_in_the_apps_process_group_demotes_only_the_compilers(helper: Helper, tmp_path: Path) -> None:
    app = start_app(tmp_path, process_group=0)
    try:
        check_only_the_build_is_demoted(helper, app, "sdtestide")
    finally:
        os.killpg(app.pid, signal.SIGKILL)
        stop(app)


@pytest.mark.skipif(not SYSTEMD_V1.is_dir(), reason="no name=systemd v1 hierarchy to hold a fake scope")
def test_a_build_in_the_apps_systemd_scope_demotes_only_the_compilers(helper: Helper, tmp_path: Path) -> None:
    # Each process its own session and group: only the scope ties them together.
    app = start_app(tmp_path, start_new_session=True)
    try:
        assert wait_for(lambda: len(children_named(app.pid, "cc1plus")) == 2, 5)
        pids = [app.pid, *children_named(app.pid, "sdtestmember"), *children_named(app.pid, "cc1plus")]
        with fake_scope(pids) as unit:
            check_only_the_build_is_demoted(helper, app, f"unit:{unit}")
    finally:
        os.killpg(app.pid, signal.SIGKILL)
        stop(app)
