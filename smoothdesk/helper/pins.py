"""User pins with expiry; persisted in the run directory so a helper restart keeps them."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.decision import Pin

log = logging.getLogger(__name__)


class PinStore:
    """Pins by group id. `until` is monotonic in memory and wall-clock on disk."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.pins: dict[str, Pin] = {}
        self._load()

    def put(self, pin: Pin) -> None:
        self.pins[pin.group_id] = pin
        self._save()

    def clear(self, group_id: str) -> bool:
        found = self.pins.pop(group_id, None) is not None
        if found:
            self._save()
        return found

    def active(self, now: float) -> dict[str, Pin]:
        expired = [g for g, p in self.pins.items() if p.until is not None and p.until <= now]
        for group_id in expired:
            del self.pins[group_id]
        if expired:
            self._save()
        return dict(self.pins)

    def prune(self, live_groups: set[str]) -> None:
        dead = [g for g in self.pins if g not in live_groups]
        for group_id in dead:
            del self.pins[group_id]
        if dead:
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        offset = time.time() - time.monotonic()
        data = [
            {
                "group": p.group_id,
                "class": p.klass.value,
                "until": None if p.until is None else p.until + offset,
                "uid": p.by_uid,
            }
            for p in self.pins.values()
        ]
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("cannot save pins to %s: %s", self.path, exc.strerror)

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        offset = time.time() - time.monotonic()
        try:
            for item in json.loads(self.path.read_text(encoding="utf-8")):
                until = item["until"]
                self.pins[item["group"]] = Pin(
                    item["group"],
                    PriorityClass.parse(item["class"]),
                    None if until is None else float(until) - offset,
                    int(item.get("uid", 0)),
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A damaged pin file must not stop the helper; keep it aside for inspection.
            log.warning("ignoring unreadable pins file %s: %s", self.path, exc)
            self.path.replace(self.path.with_suffix(".bad"))
