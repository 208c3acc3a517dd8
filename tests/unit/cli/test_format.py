"""Duration parsing and table rendering for smoothdeskctl."""

from __future__ import annotations

import pytest

from smoothdesk.cli.errors import CliError
from smoothdesk.cli.format import human_bytes, parse_duration, table


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800), ("0.5h", 1800)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "1h 30m", "-5m", "0", "31d", "m5"])
def test_bad_durations_name_the_argument(text: str) -> None:
    with pytest.raises(CliError) as info:
        parse_duration(text, "--for")
    assert str(info.value).startswith("--for: ")
    assert info.value.status == 2


def test_table_aligns_and_keeps_last_column() -> None:
    out = table(("A", "LONGER", "WHY"), [("x", "y", "a reason"), ("xyz", "", "other")]).splitlines()
    assert out[0] == "A    LONGER  WHY"
    assert out[1] == "x    y       a reason"
    assert out[2] == "xyz          other"


def test_human_bytes() -> None:
    assert human_bytes(512) == "512B"
    assert human_bytes(3 * 1024 * 1024) == "3.0M"
