"""The rule model: what a rule matches on, what it gives, and the diagnostics of loading rules.

A rule matches a process on any combination of:

- ``name``: exact, against the executable's base name and ``comm``. The kernel cuts ``comm``
  at 15 characters, so a 15-character ``comm`` also matches a longer name it is the start of.
  Wine and Proton processes carry the Windows program's name in ``comm`` ("Game.exe") and in
  ``cmdline[0]`` as a Windows path ("C:\\\\Games\\\\Game.exe") while ``exe`` is the Wine
  preloader; the base name of such a ``cmdline[0]`` is a name too, and ``.exe`` names also
  match case-insensitively, as Windows does.
- ``exe``: the executable's full path, exactly or as a glob.
- ``cmdline``: a regular expression searched in the space-joined command line.
- ``cgroup`` and ``unit``: globs on the cgroup path and the systemd unit.
- ``parent`` and ``ancestor``: the name of the direct parent, or of any ancestor.

All the matchers a rule has must match. What a rule gives is a ``type`` (resolved through the
type table, see `rule_types`) and/or a direct ``klass``, which wins over the type's class.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.matchers import CONDITION_KEYS, name_in
from smoothdesk.core.process import ProcessRecord
from smoothdesk.policy.errors import RuleError

MAX_PATTERN_LEN = 512
_GLOB_MAGIC = re.compile(r"[*?\[]")

Ancestors = Sequence[ProcessRecord] | Callable[[], Sequence[ProcessRecord]]


class Severity(StrEnum):
    """Errors lose a rule or a file; warnings lose a rule; info notes a rule with no effect."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found while loading rules, with the file and 1-based line it is on."""

    path: str
    line: int | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message}"

    @classmethod
    def from_error(cls, err: RuleError, severity: Severity = Severity.ERROR) -> Diagnostic:
        return cls(err.path, err.line, severity, err.message)


@dataclass(frozen=True, slots=True)
class Glob:
    """A shell-style pattern compiled once; without wildcards it is a plain comparison."""

    pattern: str
    regex: re.Pattern[str] | None

    @classmethod
    def compile(cls, pattern: str) -> Glob:
        if not _GLOB_MAGIC.search(pattern):
            return cls(pattern, None)
        return cls(pattern, re.compile(fnmatch.translate(pattern)))

    def __call__(self, value: str) -> bool:
        if self.regex is None:
            return value == self.pattern
        return self.regex.match(value) is not None


def compile_cmdline(pattern: str) -> re.Pattern[str]:
    """Compile a cmdline regex; ValueError says why it is refused."""
    if len(pattern) > MAX_PATTERN_LEN:
        raise ValueError(f"cmdline pattern is {len(pattern)} characters (at most {MAX_PATTERN_LEN})")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid cmdline regex {pattern!r}: {exc}") from None


def process_names(proc: ProcessRecord) -> frozenset[str]:
    """The names a process answers to: exe base name, comm, and a Wine program's base name."""
    names = {proc.name, proc.comm}
    if proc.cmdline:
        argv0 = proc.cmdline[0]
        if "\\" in argv0 or argv0[-4:].lower() == ".exe":
            base = argv0.replace("\\", "/").rsplit("/", 1)[-1]
            if base:
                names.add(base)
    names.discard("")
    return frozenset(names)


class ProcFacts:
    """What rules look at in one process, computed once per classification and lazily."""

    __slots__ = ("_ancestor_names", "_ancestors", "_cmdline", "names", "proc")

    def __init__(self, proc: ProcessRecord, ancestors: Ancestors = ()) -> None:
        self.proc = proc
        self.names = process_names(proc)
        self._ancestors = ancestors
        self._cmdline: str | None = None
        self._ancestor_names: list[frozenset[str]] | None = None

    @property
    def cmdline(self) -> str:
        if self._cmdline is None:
            self._cmdline = " ".join(self.proc.cmdline)
        return self._cmdline

    @property
    def ancestor_names(self) -> list[frozenset[str]]:
        """Names of each ancestor, the direct parent first."""
        if self._ancestor_names is None:
            chain = self._ancestors() if callable(self._ancestors) else self._ancestors
            self._ancestor_names = [process_names(p) for p in chain]
        return self._ancestor_names


@dataclass(frozen=True, slots=True)
class Conditions:
    """The matchers of a rule besides its name; every one that is set must match."""

    exe: Glob | None = None
    cmdline: re.Pattern[str] | None = None
    cgroup: Glob | None = None
    unit: Glob | None = None
    parent: str | None = None
    ancestor: str | None = None

    def key(self) -> tuple[str | None, ...]:
        return (
            self.exe.pattern if self.exe else None,
            self.cmdline.pattern if self.cmdline else None,
            self.cgroup.pattern if self.cgroup else None,
            self.unit.pattern if self.unit else None,
            self.parent,
            self.ancestor,
        )

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in zip(CONDITION_KEYS, self.key(), strict=True) if v is not None}

    def matches(self, facts: ProcFacts) -> bool:
        proc = facts.proc
        if self.exe is not None and not self.exe(proc.exe.removesuffix(" (deleted)")):
            return False
        if self.cgroup is not None and not self.cgroup(proc.cgroup):
            return False
        if self.unit is not None and (proc.unit is None or not self.unit(proc.unit)):
            return False
        if self.cmdline is not None and self.cmdline.search(facts.cmdline) is None:
            return False
        if self.parent is not None:
            chain = facts.ancestor_names
            if not chain or not name_in(self.parent, chain[0]):
                return False
        if self.ancestor is not None:
            wanted = self.ancestor
            if not any(name_in(wanted, names) for names in facts.ancestor_names):
                return False
        return True


@dataclass(slots=True, eq=False)
class Rule:
    """One rule. `seq` is its load order, set by the RuleSet builder: the latest match wins."""

    name: str | None
    type: str | None
    klass: PriorityClass | None
    source: str
    line: int | None
    cond: Conditions | None = None
    label: str | None = None
    attrs: tuple[tuple[str, Any], ...] = ()
    seq: int = -1

    def key(self) -> tuple[str | None, ...]:
        """Identity for overriding: a later rule with the same matchers replaces this one."""
        if self.cond is None:
            return (self.name,)
        return (self.name, *self.cond.key())

    @property
    def title(self) -> str:
        """A short human label: "label: name", the label, the name, or the matchers."""
        if self.label:
            return f"{self.label}: {self.name}" if self.name is not None else self.label
        if self.name is not None:
            return self.name
        matchers = self.cond.as_dict() if self.cond else {}
        return ", ".join(f"{k}={v}" for k, v in matchers.items()) or "?"

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source

    def matchers(self) -> dict[str, str]:
        found = {"name": self.name} if self.name is not None else {}
        if self.cond is not None:
            found.update(self.cond.as_dict())
        return found

    def matches(self, facts: ProcFacts) -> bool:
        if self.name is not None and not name_in(self.name, facts.names):
            return False
        return self.cond is None or self.cond.matches(facts)


@dataclass(frozen=True, slots=True)
class TypeDef:
    """A named type and the class it maps to; `tags` tell the engine more (see rule_types)."""

    name: str
    klass: PriorityClass
    tags: frozenset[str] = frozenset()
    source: str = "built-in"
    line: int | None = None
    description: str = ""
    attrs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class CgroupDef:
    """An ananicy-cpp cgroup definition (kept for reference; SmoothDesk sets its own weights)."""

    name: str
    cpu_quota: int | None
    source: str
    line: int | None


@dataclass(slots=True)
class RuleDoc:
    """What one parsed file contributes: rules, types, cgroups and the problems found.

    `origin` is "toml" for SmoothDesk's own files and "ananicy" for ananicy-cpp ones.
    """

    source: str
    origin: str
    rules: list[Rule]
    types: list[TypeDef]
    cgroups: list[CgroupDef]
    diagnostics: list[Diagnostic]
