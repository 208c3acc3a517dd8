"""The lever table: what each priority class changes, and the only-lower rule that applies it.

Demoting beats boosting: NORMAL pulls no lever (it only gets our earlier changes undone);
BACKGROUND and IDLE are demoted, and nothing is ever raised above its original. CRITICAL and
INTERACTIVE pull two levers that take no CPU share from anyone: an EEVDF custom slice (below), and
a timer slack of 1 us in place of the default 50 us (FOCUS_SLACK_NS).
The table was chosen by measurement with bench/bench_levers.py on this kind of machine
(2 vCPUs, kernel 6.18 EEVDF, HZ=250, autogroup on, cgroup v1 cpu): a probe wakes every 4 ms
on an absolute deadline and does 0.5 ms of work, next to 8 spinning "cc1plus" hogs, either in
the probe's session or in a session of their own (another autogroup); a 2-thread foreground
spinner in the probe's session then shows the share of the machine it gets. Medians of the p99
wake-up lateness over interleaved runs (unpinned / all on one CPU):

  lever on the hogs          same session p99, fg share   other session p99, fg share
  none                       3770 us / 704 ms, 20 %       2930 us / 24 us, 50 %
  probe at SCHED_FIFO        25 / 24 us                   24 / 37 us
  nice 19                    26 / 24 us, 94 %             33 / 23 us, 50 %  (placebo for share)
  SCHED_BATCH                9895 us / 708 ms, 20 %       2908 / 24 us, 50 %  (worse than none)
  SCHED_IDLE                 26 / 23 us, 99 %             18.9 / 26.7 ms, 50 %  (harmful alone)
  autogroup nice 19          (would hit the probe)        25 / 25 us, 99 %
  v1 group weight 1 / idle   28 / 22 us, 99 %             26 / 24 us, 99 %
  this table, BACKGROUND     23 / 26 us, 99 %             26 / 101 us, 99 %
  this table, IDLE           35 / 22 us, 99 %             28 / 24 us, 99 %

So: the cgroup move is the one lever that works in both topologies (a moved task leaves its
session's autogroup, and our prefix group is cpu.idle, so demoted work yields at once to any waking
task outside it, see cgroup_fs; with a merely low-weighted prefix group the full helper measured
4.7x the FIFO p99 across sessions, with an idle one 0.5-1.8x); autogroup nice does it across
sessions, but only when the whole session is demoted; nice does it inside a session; SCHED_IDLE only
helps next to one of the others; SCHED_BATCH is never used. IDLE adds SCHED_IDLE and cpu.idle so it
ranks below BACKGROUND (a weighted group is preempted at its slice's end, an idle one at once: hence
BACKGROUND's 101 us on one CPU), and the IO idle class: with mq-deadline an idle-class reader next
to 4 busy best-effort readers still did 35 reads/s (prio_aging_expire bounds its wait to 10 s; bfq
serves the idle class every 200 ms), so it progresses. Best-effort level 7 only matters with bfq
(mq-deadline ignores levels); CPU progress is kept because every CPU lever here is work-conserving.

The slice (bench_levers.py --slices --shield: the probe gets a custom slice from birth, the 8 hogs
are unmanaged or demoted by this table; medians of 10 interleaved 3 s runs over two invocations,
on a machine shared with other agents: their load was 5-8 % of the CPUs in the unmanaged rows and
67-77 % in the demoted ones, where it took the CPU the hogs gave up, so those rows measure the
probe against that load; --shield puts every session of the bench at autogroup nice -20 to keep
it out of the rest). wake p99 / completion p99 (done - deadline) in us, and both as a ratio to
the base slice (1.4 ms here: 0.7 ms x (1 + log2 2 CPUs)); SCHED_FIFO gives 68-84 / 570-588 us:

  probe slice   same session, unmanaged  other, unmanaged   same, hogs demoted  other, demoted
  base 1.4 ms   6966 / 7472              4129 / 4630        1935 / 2547         1184 / 2078
  100 us        0.46 / 0.81              0.85 / 0.86        0.56 / 0.77         1.78 / 1.30
  250 us        0.54 / 0.90              0.88 / 0.89        0.33 / 0.67         1.18 / 0.99
  500 us        0.86 / 1.04              0.92 / 0.93        0.63 / 0.87         1.55 / 1.28
  1 ms          0.73 / 1.03              0.64 / 0.84        1.41 / 1.32         1.46 / 1.35

The rule: the size with the lowest worst-topology wake p99 next to demoted hogs among those whose
completion p99 stays within 1.25x the base slice's everywhere: 250 us (100 us cuts the probe's
0.5 ms of work into five pieces, and it completes 1.3x later across sessions). The runs scatter
widely (the base slice's same-session wake p99 ranged 2.5-12 ms), so read differences under
~1.3x as noise: the clear effects are the short slices' wake-up gain in the probe's own session.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from smoothdesk.actuator.syscalls import (
    IOPRIO_CLASS_BE,
    IOPRIO_CLASS_IDLE,
    IOPRIO_CLASS_NONE,
    SCHED_RESET_ON_FORK,
    ThreadState,
    ioprio_split,
    ioprio_value,
)
from smoothdesk.core import PriorityClass
from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE, SCHED_OTHER

# How far each normal policy is from "gets the CPU first"; realtime and unknown policies are absent
# on purpose: a thread running under them is never touched.
_POLICY_RANK = {SCHED_OTHER: 0, SCHED_BATCH: 1, SCHED_IDLE: 2}


@dataclass(frozen=True, slots=True)
class LeverSet:
    """The levers one class pulls; None leaves that lever alone.

    `ioprio` is (class, level); `cpu_weight` and `io_weight` are on the cgroup v2 scale 1..10000
    (100 is the default; cgroup v1 cpu.shares = weight * 1024 / 100). `slice_ns` is an EEVDF
    custom slice for SCHED_OTHER threads that have none (see actuator.slices): a latency lever
    that takes no CPU share from anyone, so it is a lever a promoted class may pull. `slack_ns`
    is the other: the timer slack, how late the kernel may fire a thread's timers to coalesce
    wake-ups (50 us by default, 0 for realtime threads); it only ever goes down.
    """

    nice: int | None = None
    policy: int | None = None
    ioprio: tuple[int, int] | None = None
    autogroup_nice: int | None = None
    cpu_weight: int | None = None
    cpu_idle: bool | None = None
    io_weight: int | None = None
    slice_ns: int | None = None
    slack_ns: int | None = None

    @property
    def touches_threads(self) -> bool:
        return (
            self.nice is not None
            or self.policy is not None
            or self.ioprio is not None
            or self.slice_ns is not None
            or self.slack_ns is not None
        )

    @property
    def touches_cgroup(self) -> bool:
        return bool(self.cpu_weight or self.cpu_idle or self.io_weight)

    def describe(self) -> str:
        parts = [f"{k}={getattr(self, k)}" for k in self.__slots__ if getattr(self, k) is not None]
        return ", ".join(parts) or "nothing"


NO_LEVERS = LeverSet()
IDLE_IOPRIO = (IOPRIO_CLASS_IDLE, 0)
FOCUS_SLICE_NS = 250_000  # chosen with bench_levers --slices, see the module docstring
# A SCHED_OTHER cyclictest inherits the default 50 us slack, which the kernel gives no realtime
# task: under a compile storm with the storm demoted its p99 was 2.1-2.9x SCHED_FIFO's, and 70 us
# on the idle machine (bench_realload). 1 us leaves the focused app's timers as punctual as a
# realtime task's, for the one app the person is using and the audio clients.
FOCUS_SLACK_NS = 1_000

DEFAULT_LEVERS: Mapping[PriorityClass, LeverSet] = MappingProxyType(
    {
        PriorityClass.CRITICAL: LeverSet(slice_ns=FOCUS_SLICE_NS, slack_ns=FOCUS_SLACK_NS),
        PriorityClass.INTERACTIVE: LeverSet(slice_ns=FOCUS_SLICE_NS, slack_ns=FOCUS_SLACK_NS),
        PriorityClass.NORMAL: NO_LEVERS,
        PriorityClass.BACKGROUND: LeverSet(
            nice=19,
            ioprio=(IOPRIO_CLASS_BE, 7),
            autogroup_nice=19,
            cpu_weight=1,
            io_weight=10,
        ),
        PriorityClass.IDLE: LeverSet(
            nice=19,
            policy=SCHED_IDLE,
            ioprio=IDLE_IOPRIO,
            autogroup_nice=19,
            cpu_weight=1,
            cpu_idle=True,
            io_weight=1,
        ),
    }
)


def _io_key(value: int, nice: int) -> tuple[int, int] | None:
    """Order ioprio values by how low they are; None for realtime IO (never lowered)."""
    klass, level = ioprio_split(value)
    if klass == IOPRIO_CLASS_NONE:
        return IOPRIO_CLASS_BE, (nice + 20) // 5
    if klass in (IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE):
        return klass, level if klass == IOPRIO_CLASS_BE else 0
    return None


def thread_target(original: ThreadState, levers: LeverSet) -> ThreadState:
    """The state a thread should have: each lever moves only downwards from the original.

    The slice is the exception that takes nothing from others: it is set only on a thread that
    ends up SCHED_OTHER at nice >= 0 with no custom slice of its own (one it or its user chose is
    theirs), together with SCHED_RESET_ON_FORK. A fork inherits a custom slice, and without the
    flag every process the focused app starts (a build, a terminal's jobs) would carry ours where
    no journal knows it; with it a child starts at the base slice (and, at nice >= 0, with its
    parent's nice and policy, which is why a negative-nice thread gets no slice). New threads
    start without it too; the next plan gives them the slice like any new thread.
    The timer slack only goes down, on a thread that ends up SCHED_OTHER, from a slack we could
    read; a fork inherits it, so the children of a focused app are journaled like those of a
    demoted one (inherit.py) and given back too.
    A realtime thread is returned unchanged, whatever the levers say.
    """
    flags = original.policy & SCHED_RESET_ON_FORK
    base = original.policy & ~SCHED_RESET_ON_FORK
    if base not in _POLICY_RANK:
        return original
    nice = original.nice if levers.nice is None else max(original.nice, levers.nice)
    policy = base
    if levers.policy is not None and _POLICY_RANK[levers.policy] > _POLICY_RANK[base]:
        policy = levers.policy
    ioprio = original.ioprio
    if levers.ioprio is not None:
        wanted = ioprio_value(*levers.ioprio)
        have, want = _io_key(original.ioprio, original.nice), _io_key(wanted, nice)
        if have is not None and want is not None and want > have:
            ioprio = wanted
    slice_ns = original.slice_ns
    if levers.slice_ns is not None and original.slice_ns == 0 and policy == SCHED_OTHER and nice >= 0:
        slice_ns = levers.slice_ns
        flags |= SCHED_RESET_ON_FORK
    slack_ns = original.slack_ns
    if levers.slack_ns is not None and 0 < levers.slack_ns < slack_ns and policy == SCHED_OTHER:
        slack_ns = levers.slack_ns
    return ThreadState(nice, policy | flags, ioprio, slice_ns, slack_ns)


def _restorable_nice(original_nice: int, rlimit_nice: int) -> bool:
    """can_nice(): an unprivileged thread may go back to nice n only if 20 - n <= RLIMIT_NICE."""
    return 20 - original_nice <= rlimit_nice


def user_mode_levers(
    table: Mapping[PriorityClass, LeverSet], rlimit_nice: int | None = None
) -> dict[PriorityClass, LeverSet]:
    """Keep only levers an unprivileged owner can undo.

    Without CAP_SYS_NICE, going back to a higher-priority nice needs RLIMIT_NICE (default 0, so
    never), and leaving SCHED_IDLE needs the thread's nice within RLIMIT_NICE too (kernel
    user_check_sched_setscheduler(); both checks use the target's limit, ours stands in for it).
    ioprio (best-effort and idle classes), an autogroup nice >= 0 and the user manager's unit
    weights can be undone by the owner, so those stay; nice and SCHED_IDLE are dropped unless
    the limit allows going back to nice 0. The slice is dropped: it comes with
    SCHED_RESET_ON_FORK, which only CAP_SYS_NICE may clear, and without the flag the slice
    would be inherited by processes no journal knows. The timer slack is dropped: another process's
    needs CAP_SYS_NICE to set, or even to read. SCHED_BATCH is no substitute: it measured worse than
    no management at all (bench/bench_levers.py).
    """
    if rlimit_nice is None:
        soft = resource.getrlimit(resource.RLIMIT_NICE)[0]
        rlimit_nice = 40 if soft == resource.RLIM_INFINITY else soft
    lenient = _restorable_nice(0, rlimit_nice)
    out: dict[PriorityClass, LeverSet] = {}
    for klass, levers in table.items():
        policy = None if levers.policy == SCHED_IDLE else levers.policy
        kept = replace(levers, slice_ns=None, slack_ns=None)
        out[klass] = kept if lenient else replace(kept, nice=None, policy=policy)
    return out


def lever_table(
    given: Mapping[PriorityClass, LeverSet] | None, *, user_mode: bool, autogroup: bool
) -> dict[PriorityClass, LeverSet]:
    """The actuator's table: the given one or the mode's default; with actuator.autogroup off,
    no class lowers a session's autogroup nice."""
    table = given if given is not None else user_mode_levers(DEFAULT_LEVERS) if user_mode else DEFAULT_LEVERS
    if not autogroup:
        return {klass: replace(levers, autogroup_nice=None) for klass, levers in table.items()}
    return dict(table)


def without_slices(table: Mapping[PriorityClass, LeverSet]) -> dict[PriorityClass, LeverSet]:
    """The table for a kernel that does not honour custom slices (see slices.probe_support)."""
    return {klass: replace(levers, slice_ns=None) for klass, levers in table.items()}
