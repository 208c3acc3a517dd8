"""The dashboard's line about the focused app's CPU wait: a person's words, and no 0 without a source."""

from __future__ import annotations

from smoothdesk.gui.series import flatten, wait_text


def test_the_focused_apps_wait_in_words() -> None:
    sample = {"focus_app": "firefox", "focus_cpu_wait_ms": 14.2, "focus_cpu_wait_max_ms": 3.14}
    assert wait_text(sample) == "firefox waited 14 ms for a CPU in the last second (worst single wait 3.1 ms)"
    assert wait_text({"focus_cpu_wait_ms": 0.0, "focus_cpu_wait_max_ms": 0.0}) == (
        "the focused app waited 0 ms for a CPU in the last second"
    )
    assert flatten(sample, None, None)["focus_cpu_wait_ms"] == 14.2


def test_no_focus_source_is_said_not_drawn_as_zero() -> None:
    text = wait_text({"cpu_busy": 40.0, "score": 99.0})
    assert "not measured" in text and "0 ms" not in text
    assert "focus_cpu_wait_ms" not in flatten({"cpu_busy": 40.0}, None, None)
