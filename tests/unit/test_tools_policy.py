"""Under make test a missing system tool fails the run; by hand it skips."""

from __future__ import annotations

import pytest

from tests.support.tools import needs


def test_a_missing_tool_fails_under_make_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMOOTHDESK_REQUIRE_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception, match="needs trayer, which make test should have installed"):
        needs(["trayer"], "the tray test")
    assert needs([], "the tray test").args == (False,)


def test_a_missing_tool_skips_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMOOTHDESK_REQUIRE_TOOLS", raising=False)
    mark = needs(["trayer"], "the tray test")
    assert mark.args == (True,)
    assert mark.kwargs["reason"] == "the tray test needs trayer"
