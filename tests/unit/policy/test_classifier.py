"""The caching classifier: once per process, again after exec or PID reuse, and real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.core import Classification, PriorityClass, ProcessRecord
from smoothdesk.policy.classifier import Classifier
from smoothdesk.policy.rule_parse import parse_toml_rules
from smoothdesk.policy.rules import Ancestors
from smoothdesk.policy.ruleset import RuleSet, RuleSetBuilder

RULES = """\
[[rule]]
name = "make"
type = "build"

[[rule]]
name = "sleep"
parent = "{parent}"
class = "idle"

[[rule]]
name = "firefox"
type = "browser"
"""


class CountingRuleSet(RuleSet):
    """A RuleSet that counts how often it is really asked."""

    calls = 0

    def classify(self, proc: ProcessRecord, ancestors: Ancestors = ()) -> Classification | None:
        self.calls += 1
        return super().classify(proc, ancestors)


def build(text: str) -> CountingRuleSet:
    builder = RuleSetBuilder()
    builder.add(parse_toml_rules(text, "c.toml"))
    rs = builder.build()
    return CountingRuleSet(list(rs), rs.types, rs.cgroups)


def proc(comm: str, pid: int = 100, start: int = 1, **kw: Any) -> ProcessRecord:
    return ProcessRecord(pid=pid, ppid=1, uid=1000, comm=comm, start_time=start, **kw)


@pytest.fixture
def rs() -> CountingRuleSet:
    return build(RULES.format(parent="bash"))


def test_a_known_process_is_classified_once(rs: CountingRuleSet) -> None:
    classifier = Classifier(rs)
    first = classifier.classify(proc("make"))
    again = classifier.classify(proc("make"))
    assert first is not None and first.klass is PriorityClass.BACKGROUND
    assert again == first and rs.calls == 1
    assert classifier.classify(proc("unknown", pid=101)) is None
    assert classifier.classify(proc("unknown", pid=101)) is None
    assert rs.calls == 2 and len(classifier) == 2


def test_exec_and_pid_reuse_classify_again(rs: CountingRuleSet) -> None:
    classifier = Classifier(rs)
    assert classifier.classify(proc("bash", pid=100, start=1)) is None
    execed = classifier.classify(proc("make", pid=100, start=1))  # same key, new comm
    assert execed is not None and execed.type == "build"
    reused = classifier.classify(proc("firefox", pid=100, start=999))  # PID reused
    assert reused is not None and reused.type == "browser"
    assert rs.calls == 3


def test_forget_and_retain_drop_dead_processes(rs: CountingRuleSet) -> None:
    classifier = Classifier(rs)
    a, b, c = proc("make", pid=1), proc("make", pid=2), proc("make", pid=3)
    for p in (a, b, c):
        classifier.classify(p)
    classifier.forget([a.key, proc("x", pid=99).key])
    assert len(classifier) == 2
    classifier.classify(a)
    assert rs.calls == 4
    classifier.retain([b.key])
    assert len(classifier) == 1
    classifier.classify(b)
    assert rs.calls == 4


def test_ancestors_callable_runs_only_on_a_miss() -> None:
    rs = build(RULES.format(parent="bash"))
    classifier = Classifier(rs)
    calls: list[int] = []

    def chain() -> Sequence[ProcessRecord]:
        calls.append(1)
        return [proc("bash", pid=50)]

    assert classifier.classify(proc("sleep"), chain) is not None
    assert classifier.classify(proc("sleep"), chain) is not None
    assert calls == [1]


def test_reload_switches_rules_and_forgets(rs: CountingRuleSet) -> None:
    classifier = Classifier(rs)
    first = classifier.classify(proc("make"))
    assert first is not None and first.klass is PriorityClass.BACKGROUND
    classifier.reload(build('[[rule]]\nname = "make"\nclass = "interactive"\n'))
    second = classifier.classify(proc("make"))
    assert second is not None and second.klass is PriorityClass.INTERACTIVE
    browser = Classifier(rs).classify(proc("firefox"))
    assert browser is not None and "interactive-capable" in classifier.tags(browser)


def _record(pid: int) -> ProcessRecord:
    """Read a live process from /proc by hand: comm, exe, cmdline, ppid and start time."""
    base = Path(f"/proc/{pid}")
    stat = (base / "stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cmdline = tuple(a for a in (base / "cmdline").read_bytes().decode().split("\0") if a)
    return ProcessRecord(
        pid=pid,
        ppid=int(fields[1]),
        uid=os.getuid(),
        comm=(base / "comm").read_text().rstrip("\n"),
        start_time=int(fields[19]),
        exe=os.readlink(base / "exe"),
        cmdline=cmdline,
    )


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "30"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_real_process_matches_by_name_and_parent(sleeper: subprocess.Popen[bytes]) -> None:
    me = _record(os.getpid())
    child = _record(sleeper.pid)
    assert child.ppid == me.pid
    parent_name = Path(sys.executable).resolve().name  # e.g. python3.11, as the rule will see it
    assert parent_name == me.name
    classifier = Classifier(build(RULES.format(parent=parent_name)))
    c = classifier.classify(child, [me])
    assert c is not None and (c.klass, c.rule) == (PriorityClass.IDLE, "sleep")
    other = Classifier(build(RULES.format(parent="bash")))
    assert other.classify(child, [me]) is None  # same process, parent does not match
