"""Quotas per uid (not per connection): calls, the helper's CPU, connections served at once.

A uid opening 16 connections gets one share, not 16. Each uid has a call bucket, a CPU
bucket (seconds of the helper's CPU its calls cost, charged after each call), a bytes bucket
(the size of its replies: every byte the helper sends may sit in the bus daemon's queue for a
caller that never reads, and enough of them make the daemon stop reading the helper), and all
unreserved uids together draw on one CPU pool, so many uids cannot add up to a core either.
A call over quota waits its turn (up to `max_wait`), which throttles a caller that waits for
its replies without costing the helper a reply per refused call; past that it is refused.
Reserved uids (root, the helper's own, the active session's user) bypass every bucket.

Bounds (all per uid unless said): `max_pending` calls admitted and not finished, `max_names`
connections among them, `max_accounts` uids remembered (idle ones evicted first). Pure: the
clock is injected and nothing here awaits.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Limits:
    calls_per_s: float = 40.0
    call_burst: float = 80.0
    cpu_per_s: float = 0.03  # 3 % of a core per uid
    cpu_burst: float = 0.3
    pool_cpu_per_s: float = 0.08  # 8 % of a core for all unreserved uids together
    pool_cpu_burst: float = 0.6
    bytes_per_s: float = 512 << 10
    byte_burst: float = 8 << 20
    max_wait: float = 2.0
    max_pending: int = 24
    max_names: int = 8
    max_accounts: int = 1024


class Bucket:
    """A token bucket that may go into debt: a reservation past zero is a wait, not a refusal."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now

    def reserve(self, now: float, cost: float) -> float:
        """Take `cost`; return how long to wait before the reservation is covered."""
        self._refill(now)
        self.tokens -= cost
        return self.debt(now)

    def debt(self, now: float) -> float:
        self._refill(now)
        return max(0.0, -self.tokens / self.rate)

    def give_back(self, cost: float) -> None:
        self.tokens = min(self.burst, self.tokens + cost)


@dataclass(slots=True)
class Account:
    calls: Bucket
    cpu: Bucket
    sent: Bucket
    pending: int = 0
    names: dict[str, int] = field(default_factory=dict)
    heavy: int = 0  # heavy reads running (reports, long history): one at a time


@dataclass(frozen=True, slots=True)
class Ticket:
    """An admitted call: wait `wait` seconds, run, then `Quotas.done(ticket, cpu)`."""

    uid: int
    name: str
    wait: float
    reserved: bool


class Refused(Exception):
    """Over quota; the message says which bound."""


class Quotas:
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        reserved: Callable[[int], bool] = lambda uid: uid == 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or Limits()
        self.reserved = reserved
        self.clock = clock
        now = clock()
        self.pool = Bucket(self.limits.pool_cpu_per_s, self.limits.pool_cpu_burst, now)
        self._accounts: OrderedDict[int, Account] = OrderedDict()
        self.refused = 0

    def account(self, uid: int) -> Account | None:
        return self._accounts.get(uid)

    def _account(self, uid: int, now: float) -> Account:
        acct = self._accounts.get(uid)
        if acct is not None:
            self._accounts.move_to_end(uid)
            return acct
        if len(self._accounts) >= self.limits.max_accounts:
            idle = next((u for u, a in self._accounts.items() if a.pending == 0), None)
            if idle is None:
                raise Refused("too many users calling at once")
            del self._accounts[idle]
        lim = self.limits
        calls = Bucket(lim.calls_per_s, lim.call_burst, now)
        acct = Account(
            calls, Bucket(lim.cpu_per_s, lim.cpu_burst, now), Bucket(lim.bytes_per_s, lim.byte_burst, now)
        )
        self._accounts[uid] = acct
        return acct

    def admit(self, uid: int, name: str, *, heavy: bool = False) -> Ticket:
        """A Ticket, or Refused naming the bound that was hit."""
        if self.reserved(uid):
            return Ticket(uid, name, 0.0, True)
        try:
            return self._admit(uid, name, heavy)
        except Refused:
            self.refused += 1
            raise

    def _admit(self, uid: int, name: str, heavy: bool) -> Ticket:
        now = self.clock()
        lim = self.limits
        acct = self._account(uid, now)
        if acct.pending >= lim.max_pending:
            raise Refused(f"uid {uid} has {acct.pending} calls in progress (at most {lim.max_pending})")
        if name not in acct.names and len(acct.names) >= lim.max_names:
            raise Refused(f"uid {uid} is served on {lim.max_names} connections at once already")
        if heavy and acct.heavy:
            raise Refused(f"uid {uid} has a report or long history in progress: one at a time")
        wait = max(acct.calls.reserve(now, 1.0), acct.cpu.debt(now), acct.sent.debt(now), self.pool.debt(now))
        if wait > lim.max_wait:
            acct.calls.give_back(1.0)
            raise Refused(f"uid {uid} is over its quota; slow down")
        acct.pending += 1
        acct.names[name] = acct.names.get(name, 0) + 1
        acct.heavy += heavy
        return Ticket(uid, name, wait, False)

    def done(self, ticket: Ticket, cpu: float, *, heavy: bool = False, sent: int = 0) -> None:
        """Charge the CPU seconds and reply bytes the call cost the helper; free its place."""
        if ticket.reserved:
            return
        acct = self._accounts.get(ticket.uid)
        if acct is None:
            return
        now = self.clock()
        acct.cpu.reserve(now, cpu)
        acct.sent.reserve(now, float(sent))
        self.pool.reserve(now, cpu)
        acct.pending -= 1
        acct.heavy -= heavy
        left = acct.names.get(ticket.name, 1) - 1
        if left:
            acct.names[ticket.name] = left
        else:
            acct.names.pop(ticket.name, None)
