"""Hypothesis fuzz of every bus method against a real root helper, from an unprivileged client.

The helper must keep answering every call, and nothing may change: an unprivileged caller gets
no successful mutating call, and the helper's state (pause, pins, classes, rules) is the same.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from smoothdesk.dbus.names import METHODS
from tests.support.fuzzcalls import calls
from tests.support.procs import named_binary, spawn_hog, stop, wait_for
from tests.support.users import REPO, drop_to_nobody, unprivileged_python

pytestmark = pytest.mark.root
MUTATING = {m.name for m in METHODS if m.mutating and not m.name.startswith("Report")}


def ctl(address: str, *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "smoothdesk.cli.main", "--bus", address, "--json", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=REPO,
    )
    return json.loads(out.stdout)


def state(address: str) -> dict[str, Any]:
    s = ctl(address, "status")
    apps = {a["id"]: (a["class"], a["pinned"]) for a in ctl(address, "apps")}
    return {"paused": s["paused"], "rules": s["rules"], "apps": apps}


def canary_demoted(address: str) -> bool:
    try:
        return any(a["name"] == "cc1plus" and a["class"] == "background" for a in ctl(address, "apps"))
    except subprocess.CalledProcessError:
        return False


def test_fuzz_every_method_as_nobody(bus_address: str, shared_tmp: Path) -> None:
    config = shared_tmp / "c.toml"
    config.write_text("[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\n")
    canary = spawn_hog(named_binary(shared_tmp, "cc1plus"))
    helper = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smoothdesk.helper.main",
            "--bus",
            bus_address,
            "--config",
            str(config),
            "--run-dir",
            str(shared_tmp / "run"),
        ],
        stderr=subprocess.DEVNULL,
    )
    exe, env = unprivileged_python()
    client = subprocess.Popen(
        [exe, "-m", "tests.support.rawclient", bus_address],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=drop_to_nobody,
        cwd=str(REPO),
        env=env,
    )
    seen: list[tuple[str, dict[str, Any]]] = []
    try:
        assert wait_for(lambda: canary_demoted(bus_address), 30)  # each ctl is a Python start-up
        before = state(bus_address)
        assert client.stdin is not None and client.stdout is not None

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(call=calls())
        def send(call: dict[str, Any]) -> None:
            client.stdin.write(json.dumps(call) + "\n")  # type: ignore[union-attr]
            client.stdin.flush()  # type: ignore[union-attr]
            reply = json.loads(client.stdout.readline())  # type: ignore[union-attr]
            seen.append((call["member"], reply))
            assert reply["type"] != "timeout", call
            assert reply["name"] != "org.smoothdesk.Error.Failed", call  # an internal error is a bug
            assert helper.poll() is None, call
            if call["member"] in MUTATING:
                assert reply["type"] != "return", call

        send()
        assert helper.poll() is None
        after = state(bus_address)
        # Other processes on the machine come and go meanwhile: compare the groups both saw. The
        # fuzzing client's own group (nobody's) is busy, so the noisy-neighbour rule may demote it.
        common = {a for a in before["apps"].keys() & after["apps"].keys() if not a.startswith("tree:65534:")}
        assert {k: after["apps"][k] for k in common} == {k: before["apps"][k] for k in common}
        assert (after["paused"], after["rules"]) == (before["paused"], before["rules"])
        assert not any(pinned for _, pinned in after["apps"].values())
        kinds = {r["name"] for _, r in seen if r["type"] == "error"}
        assert "org.freedesktop.DBus.Error.AccessDenied" in kinds
        assert any(r["type"] == "return" for _, r in seen)  # reads still answered
    finally:
        # The helper goes first and unconditionally: a root helper left running would manage
        # every process on the machine.
        helper.send_signal(signal.SIGTERM)
        helper.wait(timeout=15)
        stop(canary)
        client.kill()
        client.wait(timeout=10)
        for pipe in (client.stdin, client.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
