"""Argument checks of the new Helper1 methods: rules from the bus, pids, pidfds, history spans."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from smoothdesk.dbus import errors, procref, rulecheck
from smoothdesk.dbus.service import check_seconds


@pytest.mark.parametrize("pattern", ["(a+)+", "(.*)*", "(x|y+){2,}", "^(\\w+\\s?)*$"])
def test_nested_repetition_is_too_complex(pattern: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=r"'cmdline'.*too complex"):
        rulecheck.check_rule({"cmdline": pattern, "class": "idle"})


@pytest.mark.parametrize("pattern", ["make -j\\d+", "(cc1|cc1plus)", "^/usr/bin/.*rsync", "(ab)+"])
def test_plain_regexes_pass(pattern: str) -> None:
    assert rulecheck.check_rule({"cmdline": pattern, "class": "IDLE"})["class"] == "idle"


@pytest.mark.parametrize(
    ("table", "argument"),
    [
        ({"class": "idle"}, "rule"),  # no matcher
        ({"name": "x"}, "rule"),  # neither class nor type
        ({"name": "x", "class": "turbo"}, "class"),
        ({"name": "x", "class": "idle", "nice": "3"}, "rule"),
        ({"name": "x" * 513, "class": "idle"}, "name"),
        ({"name": "a\nb", "class": "idle"}, "name"),
        ({"name": 3, "class": "idle"}, "name"),
        ({"cmdline": "([", "class": "idle"}, "cmdline"),
    ],
)
def test_bad_rules_name_the_field(table: dict[str, object], argument: str) -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        rulecheck.check_rule(table)
    assert info.value.argument == argument


def test_matchers_and_paths() -> None:
    assert rulecheck.check_matchers({"name": "make"}) == {"name": "make"}
    with pytest.raises(errors.InvalidArgument, match=r"'matchers'"):
        rulecheck.check_matchers({"class": "idle"})
    with pytest.raises(errors.InvalidArgument, match=r"'path'.*absolute"):
        rulecheck.check_path("etc/ananicy.d")


def test_history_span() -> None:
    assert check_seconds(1e9) == 3600.0
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(errors.InvalidArgument, match=r"'seconds'"):
            check_seconds(bad)


def test_pid_and_start_time_must_match() -> None:
    child = subprocess.Popen(["sleep", "60"])
    try:
        start = procref.start_time(child.pid)
        assert start is not None
        assert procref.owner_of(child.pid, start, os.getuid()) == os.getuid()
        with pytest.raises(errors.InvalidArgument, match=r"'pid'.*replaced"):
            procref.owner_of(child.pid, start + 1, os.getuid())
        if os.getuid() != 0:
            with pytest.raises(errors.AccessDenied):
                procref.owner_of(1, procref.start_time(1) or 0, os.getuid())
    finally:
        child.kill()
        child.wait()
    with pytest.raises(errors.InvalidArgument, match=r"'pid'"):
        procref.owner_of(child.pid, start, os.getuid())


def test_pidfd_gives_its_pid_and_a_file_is_refused(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "60"])
    fd = os.pidfd_open(child.pid)
    plain = os.open(tmp_path, os.O_RDONLY)
    try:
        assert procref.pidfd_owner(fd, os.getuid()) == (child.pid, procref.start_time(child.pid))
        with pytest.raises(errors.InvalidArgument, match=r"'pidfd'.*not a pidfd"):
            procref.pidfd_pid(plain)
        child.kill()
        child.wait()
        with pytest.raises(errors.InvalidArgument, match=r"'pidfd'.*exited"):
            procref.pidfd_owner(fd, os.getuid())
    finally:
        os.close(fd)
        os.close(plain)
