"""The loaded rules and the classifier, reloadable as one unit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smoothdesk.config.rules_files import default_rule_dirs, load_rules
from smoothdesk.config.schema import Settings
from smoothdesk.core.group import Classification
from smoothdesk.core.process import ProcessRecord
from smoothdesk.policy.classifier import Classifier

log = logging.getLogger(__name__)

MAX_ANCESTORS = 64


class RuleBook:
    def __init__(self, user_mode: bool, settings: Settings) -> None:
        self.user_mode = user_mode
        self.diagnostics: list[str] = []
        self.count = 0
        self._listing: list[dict[str, Any]] = []
        self.reload(settings)

    def reload(self, settings: Settings) -> list[str]:
        dirs = default_rule_dirs(self.user_mode)
        dirs += [Path(p) for p in settings.get("rules", "extra_dirs")]
        ananicy = [Path(p) for p in settings.get("rules", "ananicy_dirs") if Path(p).is_dir()]
        result = load_rules(dirs, ananicy)
        self.diagnostics = [str(d) for d in result.diagnostics]
        for line in self.diagnostics:
            log.warning("%s", line)
        self.classifier = Classifier(result.ruleset)
        self.count = len(result.ruleset)
        self._listing = [dict(r) for r in result.ruleset.describe()]
        return list(self.diagnostics)

    def classify(self, proc: ProcessRecord, procs: Mapping[int, ProcessRecord]) -> Classification | None:
        return self.classifier.classify(proc, lambda: self._ancestors(proc, procs))

    @staticmethod
    def _ancestors(proc: ProcessRecord, procs: Mapping[int, ProcessRecord]) -> list[ProcessRecord]:
        chain: list[ProcessRecord] = []
        ppid = proc.ppid
        while ppid > 0 and len(chain) < MAX_ANCESTORS:
            parent = procs.get(ppid)
            if parent is None:
                break
            chain.append(parent)
            ppid = parent.ppid
        return chain

    def listing(self) -> list[dict[str, Any]]:
        return self._listing
