"""The merged, indexed rule set, and the builder that merges parsed files into it.

Merging: files are added in load order (ananicy-cpp directories first, then the SmoothDesk
layers /usr/share -> /etc -> user). A rule with the same matchers as an earlier one replaces
it; a type or cgroup with the same name (case-insensitive) replaces the earlier definition.
Type precedence: a type defined only in an ananicy ``.types`` file < the built-in table <
a ``[types.X]`` table in a SmoothDesk file.

Matching: the matching rule loaded last wins. Name rules (and rules on an exact exe path) sit
in dicts, so finding them costs a few lookups whatever the number of rules; the few other
rules are scanned newest first, and only while they are newer than the best indexed match.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.group import Classification
from smoothdesk.core.matchers import COMM_LEN
from smoothdesk.core.process import ProcessRecord
from smoothdesk.policy.rule_types import BUILTIN_TYPES, class_from_attrs
from smoothdesk.policy.rules import (
    Ancestors,
    CgroupDef,
    Diagnostic,
    ProcFacts,
    Rule,
    RuleDoc,
    Severity,
    TypeDef,
)

_Index = dict[str, tuple[Rule, ...]]


def _push(index: _Index, key: str, rule: Rule) -> None:
    # Newest first, so the first match in a bucket is the one that wins.
    index[key] = (rule, *index.get(key, ()))


class RuleSet:
    """Rules indexed for matching; build it with RuleSetBuilder."""

    def __init__(
        self,
        rules: list[Rule],
        types: Mapping[str, TypeDef],
        cgroups: Mapping[str, CgroupDef],
    ) -> None:
        self.types = dict(types)
        self.cgroups = dict(cgroups)
        self._rules = rules
        self._by_name: _Index = {}
        self._by_prefix: _Index = {}
        self._by_exe: _Index = {}
        self._by_path: _Index = {}  # nameless rules on an exact exe path
        others: list[Rule] = []
        for seq, rule in enumerate(rules):
            rule.seq = seq
            name = rule.name
            if name is None:
                exe = rule.cond.exe if rule.cond else None
                if exe is not None and exe.regex is None:
                    _push(self._by_path, exe.pattern, rule)
                else:
                    others.append(rule)
                continue
            _push(self._by_name, name, rule)
            if len(name) > COMM_LEN:
                _push(self._by_prefix, name[:COMM_LEN], rule)
            if name[-4:].lower() == ".exe":
                low = name.lower()
                _push(self._by_exe, low, rule)
                if len(low) > COMM_LEN:
                    _push(self._by_exe, low[:COMM_LEN], rule)
        others.reverse()
        self._others = tuple(others)

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def match(self, proc: ProcessRecord, ancestors: Ancestors = ()) -> Rule | None:
        """The rule that decides for `proc`; `ancestors` go from the direct parent upwards."""
        facts = ProcFacts(proc, ancestors)
        best: Rule | None = None
        buckets = [self._by_path.get(proc.exe.removesuffix(" (deleted)"), ())]
        for name in facts.names:
            buckets.append(self._by_name.get(name, ()))
            if len(name) == COMM_LEN:
                buckets.append(self._by_prefix.get(name, ()))
            if self._by_exe:
                buckets.append(self._by_exe.get(name.lower(), ()))
        for bucket in buckets:
            for rule in bucket:
                if best is not None and rule.seq <= best.seq:
                    break
                if rule.cond is None or rule.cond.matches(facts):
                    best = rule
                    break
        for rule in self._others:
            if best is not None and rule.seq < best.seq:
                break
            if rule.matches(facts):
                return rule
        return best

    def classification(self, rule: Rule) -> Classification:
        tdef = self.types.get(rule.type.lower()) if rule.type else None
        klass = rule.klass or (tdef.klass if tdef else PriorityClass.NORMAL)
        type_name = tdef.name if tdef else (rule.type or "")
        return Classification(type_name, klass, rule.title, rule.where)

    def classify(self, proc: ProcessRecord, ancestors: Ancestors = ()) -> Classification | None:
        rule = self.match(proc, ancestors)
        return None if rule is None else self.classification(rule)

    def tags(self, type_name: str) -> frozenset[str]:
        """The tags of a type ("interactive-capable", "game", ...); empty if it has none."""
        tdef = self.types.get(type_name.lower())
        return tdef.tags if tdef else frozenset()

    def describe(self) -> list[dict[str, str]]:
        """Every rule as plain strings, newest last: for listings and D-Bus."""
        out = []
        for rule in self._rules:
            c = self.classification(rule)
            row = {"label": c.rule, "type": c.type, "class": c.klass.value, "source": c.source}
            row.update(rule.matchers())
            out.append(row)
        return out


class RuleSetBuilder:
    """Merges parsed files in load order and resolves types; see the module docstring."""

    def __init__(self) -> None:
        self._rules: dict[tuple[str | None, ...], Rule] = {}
        self._ananicy_types: dict[str, TypeDef] = {}
        self._own_types: dict[str, TypeDef] = {}
        self._cgroups: dict[str, CgroupDef] = {}
        self.diagnostics: list[Diagnostic] = []

    def add(self, doc: RuleDoc) -> None:
        self.diagnostics.extend(doc.diagnostics)
        rules = self._rules
        for rule in doc.rules:
            key = rule.key()
            if key in rules:
                del rules[key]  # re-inserted at the end: the later definition's position counts
            rules[key] = rule
        types = self._ananicy_types if doc.origin == "ananicy" else self._own_types
        for tdef in doc.types:
            types[tdef.name.lower()] = tdef
        for cg in doc.cgroups:
            self._cgroups[cg.name] = cg

    def _types(self) -> dict[str, TypeDef]:
        merged: dict[str, TypeDef] = {}
        for key, tdef in self._ananicy_types.items():
            if key not in BUILTIN_TYPES:
                klass = class_from_attrs(dict(tdef.attrs)) or PriorityClass.NORMAL
                merged[key] = TypeDef(tdef.name, klass, tdef.tags, tdef.source, tdef.line, "", tdef.attrs)
        merged.update(BUILTIN_TYPES)
        merged.update(self._own_types)
        return merged

    def build(self) -> RuleSet:
        types = self._types()
        kept: list[Rule] = []
        for rule in self._rules.values():
            if rule.type is not None and rule.type.lower() not in types:
                self.diagnostics.append(
                    Diagnostic(
                        rule.source,
                        rule.line,
                        Severity.WARNING,
                        f"unknown type {rule.type!r} (defined in no .types file, [types] table"
                        " or the built-in table); rule skipped",
                    )
                )
                continue
            cgroup = dict(rule.attrs).get("cgroup") if rule.attrs else None
            if isinstance(cgroup, str) and cgroup not in self._cgroups:
                self.diagnostics.append(
                    Diagnostic(rule.source, rule.line, Severity.WARNING, f"unknown cgroup {cgroup!r}")
                )
            kept.append(rule)
        return RuleSet(kept, types, self._cgroups)
