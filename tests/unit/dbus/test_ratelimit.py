"""Per-uid quotas: one share per uid however many connections, CPU charged, bounds enforced."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothdesk.dbus.gate import ReplyCache, heavy_key
from smoothdesk.dbus.ratelimit import Limits, Quotas, Refused
from smoothdesk.dbus.reserved import Reserved, active_session_uids


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def quotas(clock: Clock, **kw: float) -> Quotas:
    return Quotas(Limits(**kw), clock=clock)  # type: ignore[arg-type]


def test_sixteen_connections_share_one_uid_bucket() -> None:
    clock = Clock()
    q = quotas(clock, calls_per_s=10.0, call_burst=10.0, max_names=16, max_pending=1000)
    waits = [q.admit(1000, f":1.{i % 16}").wait for i in range(30)]
    assert waits[:10] == [0.0] * 10  # the burst, whichever connection asks
    assert waits[10] == pytest.approx(0.1) and waits[19] == pytest.approx(1.0)  # then 10/s for all 16
    assert q.admit(1001, ":2.0").wait == 0.0  # another uid has its own bucket
    with pytest.raises(Refused, match="over its quota"):
        for i in range(30):
            q.admit(1000, f":1.{i % 16}")


def test_cpu_cost_is_charged_to_the_uid_and_the_pool() -> None:
    clock = Clock()
    q = quotas(clock, cpu_per_s=0.05, cpu_burst=0.1, pool_cpu_per_s=1.0, pool_cpu_burst=1.0)
    t = q.admit(1000, ":1.1")
    q.done(t, 0.3)  # a call that cost 0.3 s of CPU: 0.2 s of debt at 0.05/s
    with pytest.raises(Refused):  # 4 s to pay it back is past max_wait (2 s)
        q.admit(1000, ":1.1")
    clock.now += 3.0
    assert q.admit(1000, ":1.1").wait == pytest.approx(1.0, abs=0.01)
    assert q.admit(1001, ":2.1").wait == 0.0  # the pool (1 s/s) absorbed it


def test_pool_bounds_many_uids_together() -> None:
    clock = Clock()
    q = quotas(clock, cpu_per_s=1.0, cpu_burst=1.0, pool_cpu_per_s=0.1, pool_cpu_burst=0.1)
    for uid in range(1000, 1003):
        q.done(q.admit(uid, f":{uid}"), 0.1)  # each well inside its own 1 s/s
    assert q.admit(2000, ":x").wait == pytest.approx(2.0, abs=0.01)  # but the pool owes 0.2 s


def test_over_max_wait_is_refused_and_refunded() -> None:
    clock = Clock()
    q = quotas(clock, calls_per_s=1.0, call_burst=1.0, max_wait=2.0, max_pending=100)
    waits = [q.admit(7, ":a").wait for _ in range(3)]
    assert waits == [0.0, pytest.approx(1.0), pytest.approx(2.0)]
    with pytest.raises(Refused):
        q.admit(7, ":a")
    assert q.refused == 1
    clock.now += 1.0  # the refused call took nothing: one more second buys exactly one more slot
    assert q.admit(7, ":a").wait == pytest.approx(2.0)


def test_connections_and_pending_per_uid_are_capped() -> None:
    q = quotas(Clock(), max_names=2, max_pending=3)
    a, b = q.admit(5, ":a"), q.admit(5, ":b")
    with pytest.raises(Refused, match="2 connections"):
        q.admit(5, ":c")
    q.admit(5, ":a")  # a connection already served may queue more
    with pytest.raises(Refused, match="3 calls in progress"):
        q.admit(5, ":b")
    q.done(b, 0.0)
    q.done(a, 0.0)
    assert q.admit(5, ":c").wait == 0.0  # :b left the set: a new connection fits
    acct = q.account(5)
    assert acct is not None and set(acct.names) == {":a", ":c"}


def test_heavy_reads_one_at_a_time_per_uid() -> None:
    q = quotas(Clock())
    t = q.admit(5, ":a", heavy=True)
    with pytest.raises(Refused, match="one at a time"):
        q.admit(5, ":b", heavy=True)
    q.admit(6, ":c", heavy=True)  # another uid may
    q.admit(5, ":a")  # and light calls go on
    q.done(t, 0.0, heavy=True)
    q.admit(5, ":b", heavy=True)


def test_reserved_uids_bypass_everything() -> None:
    clock = Clock()
    q = Quotas(
        Limits(calls_per_s=1.0, call_burst=1.0, max_pending=1), reserved=lambda u: u in (0, 1000), clock=clock
    )
    assert all(q.admit(0, ":root").wait == 0.0 for _ in range(1000))
    assert all(q.admit(1000, ":seat").wait == 0.0 for _ in range(1000))
    assert q.account(0) is None


def test_accounts_are_bounded_evicting_idle_ones() -> None:
    q = quotas(Clock(), max_accounts=3)
    busy = q.admit(1, ":1")
    q.done(q.admit(2, ":2"), 0.0)
    q.done(q.admit(3, ":3"), 0.0)
    q.admit(4, ":4")
    assert q.account(2) is None and q.account(1) is not None
    q.admit(5, ":5")  # evicts 3, the last idle one
    with pytest.raises(Refused, match="too many users"):
        q.admit(6, ":6")  # 1, 4, 5 all have calls in progress
    q.done(busy, 0.0)
    q.admit(6, ":6")


def test_active_session_user_is_reserved(tmp_path: Path) -> None:
    (tmp_path / "c1").write_text("UID=1000\nUSER=alice\nACTIVE=1\nSTATE=active\n")
    (tmp_path / "c2").write_text("UID=1001\nACTIVE=0\nSTATE=online\n")
    (tmp_path / "c3").write_text("garbage without equals\n")
    (tmp_path / "c4.ref").mkdir()
    assert active_session_uids(tmp_path) == {1000}
    assert active_session_uids(tmp_path / "missing") == frozenset()
    clock = Clock()
    reserved = Reserved(own_uid=4242, root=tmp_path, refresh=5.0, clock=clock)
    assert reserved(0) and reserved(4242) and reserved(1000) and not reserved(1001)
    (tmp_path / "c2").write_text("UID=1001\nACTIVE=1\n")  # the user switched seats
    assert not reserved(1001)  # read again only after `refresh`
    clock.now += 5.0
    assert reserved(1001)


def test_heavy_keys_and_reply_cache() -> None:
    assert heavy_key("GetReport", [1e12, "html"]) == ("GetReport", 10**12, "html")
    assert heavy_key("GetReport", [float("inf"), "html"]) is None  # fails its checks: not cached
    assert heavy_key("GetHistory", [3600.0]) == ("GetHistory", 3600)
    assert heavy_key("GetHistory", [60.0]) is None
    assert heavy_key("GetStatus", []) is None
    clock = Clock()
    cache = ReplyCache(max_entries=2, clock=clock)
    cache.put(("GetReport", 1, "csv"), ["a"])
    cache.put(("GetHistory", 3600), [[1]])
    assert cache.get(("GetReport", 1, "csv")) == ["a"]
    clock.now += 1.5
    assert cache.get(("GetHistory", 3600)) is None  # history lives 1 s, reports 5 s
    assert cache.get(("GetReport", 1, "csv")) == ["a"]
    cache.put(("GetReport", 2, "csv"), ["b"])
    cache.put(("GetReport", 3, "csv"), ["c"])
    assert cache.get(("GetReport", 1, "csv")) is None  # at most two entries: oldest went
    assert cache.hits == 2


def test_reply_bytes_are_charged_per_uid() -> None:
    """A caller that never reads leaves our replies in the bus daemon's queue: bytes are metered."""
    clock = Clock()
    q = quotas(clock, bytes_per_s=1000.0, byte_burst=1000.0, max_wait=2.0)
    q.done(q.admit(9, ":a"), 0.0, sent=2500)  # 1500 bytes of debt at 1000/s
    assert q.admit(9, ":a").wait == pytest.approx(1.5)
    q.done(q.admit(9, ":b"), 0.0, sent=10_000)
    with pytest.raises(Refused):
        q.admit(9, ":a")
    assert q.admit(10, ":c").wait == 0.0  # bytes are per uid, not pooled
