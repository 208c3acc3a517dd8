"""The xrun source's parsers on what real PipeWire 0.3.65 sent, and the helper's bookkeeping.

tests/data/pipewire/ holds profiler events and pw_profiler lines captured from a real PipeWire
0.3.65 (the fixture in tests/support/pipewire.py) while a pw-cat player was held with SIGSTOP.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smoothdesk.agent.pw_pod import PodError, XrunCounter, parse
from smoothdesk.agent.xruns_pipewire import LineReader, XrunNews
from smoothdesk.dbus import errors
from smoothdesk.dbus.procref import start_time
from smoothdesk.dbus.xrunreport import check_xruns
from smoothdesk.helper.reporters import ReportBook

DATA = Path(__file__).parent.parent / "data" / "pipewire"
PLAYER_PID = 25882  # pw-cat's pid when the lines were captured


def events() -> list[bytes]:
    blob, at, out = (DATA / "profiler-0.3.65.bin").read_bytes(), 0, []
    while at < len(blob):
        start = at
        _, at = parse(blob, at)
        out.append(blob[start:at])
    return out


def test_missed_cycles_of_a_stopped_player_are_counted_for_it_alone() -> None:
    counter = XrunCounter()
    for event in events():
        counter.feed(event)
    names = {counter.names[n]: n for n in counter.xruns}
    assert set(names) == {"sd_null", "sd_player"}
    assert counter.xruns[names["sd_null"]] == 0  # the driver ran every cycle
    assert counter.xruns[names["sd_player"]] == 46  # ~2 s of 42.7 ms cycles while stopped


def test_an_event_of_finished_cycles_counts_nothing() -> None:
    counter = XrunCounter()
    counter.feed(events()[0])
    assert counter.xruns and set(counter.xruns.values()) == {0}


def test_a_truncated_event_is_an_error_not_a_count() -> None:
    counter = XrunCounter()
    with pytest.raises(PodError, match="past the end"):
        counter.feed(events()[1][:-100])
    assert counter.xruns == {} or set(counter.xruns.values()) == {0}


def test_forgotten_node_starts_again_from_zero() -> None:
    counter = XrunCounter()
    for event in events():
        counter.feed(event)
    player = next(n for n, name in counter.names.items() if name == "sd_player")
    counter.forget(player)
    counter.feed(events()[-1])
    assert counter.xruns[player] == 0


def test_lines_become_new_xruns_per_pid() -> None:
    lines = (DATA / "pw_profiler-0.3.65.jsonl").read_text().splitlines()
    reader = LineReader()
    news = [reader.feed(line) for line in lines]
    assert news[0] == XrunNews("pipewire")
    assert news[1] is None  # counts present, none moved
    assert news[2] == XrunNews("pipewire", 28, {PLAYER_PID: 28})
    assert news[3] == XrunNews("pipewire", 18, {PLAYER_PID: 18})


def test_an_error_line_or_garbage_means_no_source() -> None:
    reader = LineReader()
    assert reader.feed('{"error": "PipeWire closed the connection"}') == XrunNews(
        "", reason="PipeWire closed the connection"
    )
    assert reader.feed("not json").source == ""


def test_the_book_tells_no_source_from_zero_and_forgets_a_leaver() -> None:
    book = ReportBook()
    assert book.take_xruns() is None
    book.set_xruns(":1.5", 1000, "pipewire", 0, {})
    taken = book.take_xruns()
    assert taken is not None and taken.count == 0
    book.set_xruns(":1.5", 1000, "pipewire", 3, {42: 2})
    book.set_xruns(":1.5", 1000, "pipewire", 1, {42: 1})
    taken = book.take_xruns()
    assert taken is not None and (taken.count, taken.by_pid) == (4, {42: 3})
    taken = book.take_xruns()
    assert taken is not None and (taken.count, taken.by_pid) == (0, {})
    book.drop(":1.5")
    assert book.take_xruns() is None


def test_report_arguments_are_checked_and_named() -> None:
    me, start = os.getpid(), start_time(os.getpid())
    assert start is not None
    uid = os.getuid()
    assert check_xruns(uid, "pipewire", 5, [(me, start, 3)]) == ("pipewire", 5, {me: 3})
    # A client that exited (or a stale start time) loses its name; the count stays.
    assert check_xruns(uid, "pipewire", 5, [(me, start + 1, 3)]) == ("pipewire", 5, {})
    for args, argument in (
        (("pipe\nwire", 0, []), "source"),
        (("x" * 65, 0, []), "source"),
        (("", 2, []), "count"),
        (("pipewire", 2_000_000, []), "count"),
        (("pipewire", 2, [(me, start, 3)]), "clients"),
        (("pipewire", 2, [(0, 0, 1)]), "clients"),
        (("pipewire", 2, [(me, start, 2), (me, start, 2)]), "clients"),
    ):
        with pytest.raises(errors.InvalidArgument) as err:
            check_xruns(uid, *args)  # type: ignore[arg-type]
        assert err.value.argument == argument, args
