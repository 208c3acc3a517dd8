"""Tests for the grouper: unit groups, job groups, stable ids, kernel, init and names."""

from __future__ import annotations

import pytest
from policy_fakes import kthread, proc, snap

from smoothdesk.policy.grouper import group_processes, group_unit, unit_display_name


def _by_id(groups):
    return {g.id: g for g in groups}


@pytest.mark.parametrize(
    ("unit", "name"),
    [
        ("app-gnome-firefox-1234.scope", "firefox"),
        ("app-firefox-1234.scope", "firefox"),
        ("app-gnome-org.gnome.Terminal-5678.scope", "Terminal"),
        ("app-flatpak-org.mozilla.firefox-99.scope", "firefox"),
        ("app-gnome-google\\x2dchrome-4242.scope", "google-chrome"),
        ("app-org.gnome.Nautilus@1f2e3d.service", "Nautilus"),
        ("app-gnome-org.gnome.Nautilus@1f2e3d.service", "Nautilus"),
        ("app-org.kde.konsole.desktop-77.scope", "konsole"),
        ("app-org.gnome.Terminal.slice", "Terminal"),
        ("snap.firefox.firefox-7d1c.scope", "firefox"),
        ("nginx.service", "nginx"),
        ("getty@tty1.service", "getty@tty1"),
    ],
)
def test_unit_display_names_follow_the_app_naming_spec(unit, name):
    assert unit_display_name(unit) == name


@pytest.mark.parametrize(
    ("unit", "grouped_by"),
    [
        ("app-gnome-firefox-1234.scope", "app-gnome-firefox-1234.scope"),
        ("app-org.gnome.Nautilus@1f2e.service", "app-org.gnome.Nautilus@1f2e.service"),
        ("cron.service", "cron.service"),
        ("user@1000.service", None),
        ("session-3.scope", None),
        ("session-c2.scope", None),
        ("init.scope", None),
        ("user.slice", None),
        ("run-r3a9f.scope", None),
        (None, None),
        ("", None),
    ],
)
def test_which_units_form_groups(unit, grouped_by):
    assert group_unit(unit) == grouped_by


def test_processes_of_an_app_scope_form_one_group_named_after_the_app():
    groups = group_processes(
        snap(
            proc(300, "firefox", unit="app-gnome-firefox-1234.scope", start_time=50),
            proc(310, "Web Content", ppid=300, unit="app-gnome-firefox-1234.scope", pgrp=300),
            proc(320, "Isolated", ppid=300, unit="app-gnome-firefox-1234.scope", session=9),
        )
    )
    assert [g.id for g in groups] == ["unit:app-gnome-firefox-1234.scope"]
    (ff,) = groups
    assert (ff.name, ff.kind, ff.leader, ff.members) == ("firefox", "app", 300, (300, 310, 320))
    assert ff.unit == "app-gnome-firefox-1234.scope"


def test_container_units_fall_back_to_job_groups():
    groups = _by_id(
        group_processes(
            snap(
                proc(500, "bash", unit="session-2.scope", session=500, pgrp=500),
                proc(600, "make", ppid=500, unit="session-2.scope", session=500, pgrp=600),
                proc(700, "systemd", unit="user@1000.service"),
                proc(800, "sshd", uid=0, unit="ssh.service"),
            )
        )
    )
    assert set(groups) == {
        "tree:1000:500:500",
        "tree:1000:500:600",
        "tree:1000:700:700",
        "unit:ssh.service",
    }
    assert groups["unit:ssh.service"].kind == "service"
    assert groups["unit:ssh.service"].uid == 0


def _terminal_with_build():
    return [
        proc(100, "gnome-terminal-server", session=100, pgrp=100),
        proc(110, "bash", ppid=100, session=110, pgrp=110),
        proc(200, "make", ppid=110, session=110, pgrp=200, start_time=2000),
        proc(210, "cc1", ppid=200, session=110, pgrp=200),
        proc(211, "cc1", ppid=200, session=110, pgrp=200),
        proc(212, "cc1plus", ppid=200, session=110, pgrp=200),
    ]


def test_a_shell_job_is_its_own_group_apart_from_the_terminal_and_shell():
    groups = _by_id(group_processes(snap(*_terminal_with_build())))
    assert set(groups) == {"tree:1000:100:100", "tree:1000:110:110", "tree:1000:110:200"}
    job = groups["tree:1000:110:200"]
    assert (job.name, job.leader, job.members) == ("make", 200, (200, 210, 211, 212))
    assert groups["tree:1000:110:110"].members == (110,)
    assert groups["tree:1000:100:100"].name == "gnome-terminal-server"


def test_job_id_is_stable_while_members_come_and_go_and_name_falls_to_oldest():
    first = _by_id(group_processes(snap(*_terminal_with_build())))
    later_procs = [p for p in _terminal_with_build() if p.pid not in (200, 210)]
    later_procs += [
        proc(230, "ld", ppid=1, session=110, pgrp=200, start_time=5000),
        proc(231, "as", ppid=1, session=110, pgrp=200, start_time=1500),
    ]
    later = _by_id(group_processes(snap(*later_procs)))
    assert set(first) == set(later)
    job = later["tree:1000:110:200"]
    # make (the pgrp leader) is gone: the oldest member (lowest start time) names the group.
    assert (job.name, job.leader) == ("as", 231)
    assert job.members == (211, 212, 230, 231)


def test_name_prefers_exe_base_name_over_comm():
    (group,) = group_processes(snap(proc(400, "MainThread", exe="/usr/bin/python3.11")))
    assert group.name == "python3.11"


def test_kernel_threads_form_one_kernel_group():
    groups = _by_id(group_processes(snap(kthread(2, "kthreadd"), kthread(9), kthread(45), proc(50))))
    kernel = groups["kernel"]
    assert (kernel.kind, kernel.name, kernel.uid, kernel.leader) == ("kernel", "kernel", 0, 2)
    assert kernel.members == (2, 9, 45)
    assert 50 not in kernel.members


def test_pid_one_is_alone_even_when_others_share_its_session():
    init = proc(1, "tini", ppid=0, uid=0, session=1, pgrp=1, start_time=1)
    child = proc(40, "sh", uid=0, session=1, pgrp=1)
    groups = _by_id(group_processes(snap(init, child)))
    assert groups["init"].members == (1,)
    assert groups["init"].kind == "init"
    assert groups["tree:0:1:1"].members == (40,)


def test_own_pids_are_kept_out_of_other_groups():
    groups = _by_id(
        group_processes(
            snap(proc(110, "bash", session=110), proc(150, "smoothdesk-helper", session=110, pgrp=110)),
            own_pids=frozenset({150}),
        )
    )
    assert groups["self"].members == (150,)
    assert groups["tree:1000:110:110"].members == (110,)


def test_other_uid_in_the_same_job_forms_its_own_group():
    groups = _by_id(group_processes(snap(proc(110, "bash"), proc(120, "sudo", uid=0, session=110, pgrp=110))))
    assert groups["tree:1000:110:110"].members == (110,)
    assert groups["tree:0:110:110"].members == (120,)
    assert groups["tree:0:110:110"].uid == 0


def test_unknown_pgrp_stands_alone():
    groups = group_processes(snap(proc(70, pgrp=0, session=0), proc(71, pgrp=0, session=0)))
    assert [g.id for g in groups] == ["tree:1000:0:70", "tree:1000:0:71"]


def test_output_is_sorted_and_independent_of_dict_order():
    procs = [*_terminal_with_build(), kthread(2), proc(300, unit="app-gnome-firefox-1234.scope")]
    forward = group_processes(snap(*procs))
    backward = group_processes(snap(*reversed(procs)))
    assert forward == backward
    assert [g.id for g in forward] == sorted(g.id for g in forward)
    assert all(list(g.members) == sorted(g.members) for g in forward)
