"""Classifies processes by the rule set, once per process: results are cached per ProcKey."""

from __future__ import annotations

from collections.abc import Iterable

from smoothdesk.core.group import Classification
from smoothdesk.core.process import ProcessRecord, ProcKey
from smoothdesk.policy.rules import Ancestors
from smoothdesk.policy.ruleset import RuleSet

# A safety net for callers that never call forget(): past this many entries the cache restarts.
MAX_CACHE = 65536


class Classifier:
    """Maps a process to the Classification of the rule that decides for it, or None.

    The cache is keyed by ProcKey and checked against comm, so a process that execs something
    else (comm changes) is classified again, and a reused pid never sees a stale answer. A
    process's ancestry is read only on a cache miss, which is why `ancestors` may be a callable.
    A process reparented after its first classification keeps its answer until forgotten.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._cache: dict[ProcKey, tuple[str, Classification | None]] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def classify(self, proc: ProcessRecord, ancestors: Ancestors = ()) -> Classification | None:
        """The classification of `proc`; `ancestors` run from the direct parent upwards."""
        key = proc.key
        hit = self._cache.get(key)
        if hit is not None and hit[0] == proc.comm:
            return hit[1]
        result = self.ruleset.classify(proc, ancestors)
        if len(self._cache) >= MAX_CACHE:
            self._cache.clear()
        self._cache[key] = (proc.comm, result)
        return result

    def forget(self, keys: Iterable[ProcKey]) -> None:
        """Drop the cached answers of processes that are gone."""
        cache = self._cache
        for key in keys:
            cache.pop(key, None)

    def retain(self, alive: Iterable[ProcKey]) -> None:
        """Keep only the cached answers of `alive` processes (the complement of forget)."""
        keep = set(alive)
        self._cache = {k: v for k, v in self._cache.items() if k in keep}

    def reload(self, ruleset: RuleSet) -> None:
        """Switch to a new rule set; every process is classified again."""
        self.ruleset = ruleset
        self._cache.clear()

    def tags(self, classification: Classification) -> frozenset[str]:
        """The tags of a classification's type, e.g. "interactive-capable" for a browser."""
        return self.ruleset.tags(classification.type)
