"""Application groups and what the classifier says about a process."""

from __future__ import annotations

from dataclasses import dataclass

from smoothdesk.core.classes import PriorityClass


@dataclass(frozen=True, slots=True)
class Classification:
    """A rule match: the type and class it gives, and where the rule came from ("file:line")."""

    type: str
    klass: PriorityClass
    rule: str
    source: str


@dataclass(frozen=True, slots=True)
class AppGroup:
    """A set of processes treated as one application.

    `id` is stable from tick to tick: "unit:<unit name>" for systemd units,
    "tree:<uid>:<session>:<pgrp>" otherwise.
    """

    id: str
    name: str
    kind: str
    uid: int
    leader: int
    members: tuple[int, ...]
    unit: str | None = None
