"""The loaded rules and the classifier, reloadable as one unit."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from smoothdesk.config.rules_files import ADMIN_RULES_DIR, default_rule_dirs, load_rules, user_rules_file
from smoothdesk.core.group import Classification
from smoothdesk.core.process import ProcessRecord
from smoothdesk.helper.settings import HelperSettings
from smoothdesk.policy.classifier import Classifier

log = logging.getLogger(__name__)

MAX_ANCESTORS = 64
DBUS_RULES_FILE = "90-dbus.toml"


def default_write_path(user_mode: bool) -> Path:
    """Where AddRule and DeleteRule write: the admin layer as root, the user's file otherwise."""
    return user_rules_file() if user_mode else ADMIN_RULES_DIR / DBUS_RULES_FILE


class RuleBook:
    def __init__(self, user_mode: bool, settings: HelperSettings, write_path: Path | None = None) -> None:
        self.user_mode = user_mode
        self.write_path = write_path
        self.extra_ananicy: list[Path] = []
        self.diagnostics: list[str] = []
        self.count = 0
        self._listing: list[dict[str, Any]] = []
        self.reload(settings)

    def reload(self, settings: HelperSettings) -> list[str]:
        dirs = default_rule_dirs(self.user_mode)
        dirs += settings.extra_rule_dirs
        if self.write_path is not None and self.write_path.parent not in dirs:
            dirs.append(self.write_path)  # a file stands for itself; last, so it wins
        ananicy = [p for p in settings.ananicy_dirs if p.is_dir()]
        ananicy += [p for p in self.extra_ananicy if p not in ananicy]
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

    def classify_changed(
        self,
        before: dict[int, Classification],
        procs: Mapping[int, ProcessRecord],
        pids: Iterable[int],
        full: bool,
    ) -> dict[int, Classification]:
        """The tick's classifications: `pids` classified again, dead processes' answers dropped;
        a full round starts afresh and empties the classifier's cache of dead processes too.
        Changes and returns `before` unless `full`."""
        if full:
            # Drop cached answers for dead processes now and then; cheap enough, not every tick.
            self.classifier.retain(p.key for p in procs.values())
            before = {}
        else:
            for pid in [p for p in before if p not in procs]:
                del before[pid]
        for pid in pids:
            c = self.classify(procs[pid], procs)
            if c is not None:
                before[pid] = c
            else:
                before.pop(pid, None)
        return before

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
