"""The status text says what the helper was told it cannot see."""

from __future__ import annotations

from smoothdesk.cli.commands import render_status

BASE = {"version": "0.1", "pid": 7, "mode": "system", "tick": 1.0, "ticks": 3, "processes": 10, "groups": 4}


def test_each_unmeasured_source_gets_a_line_with_its_reason() -> None:
    text = render_status({**BASE, "unmeasured": ["audio: PulseAudio went away", "focus: no compositor"]})
    assert "  not measured: audio: PulseAudio went away" in text.splitlines()
    assert "  not measured: focus: no compositor" in text.splitlines()


def test_nothing_is_said_while_every_source_measures() -> None:
    assert "not measured" not in render_status({**BASE, "unmeasured": []})
