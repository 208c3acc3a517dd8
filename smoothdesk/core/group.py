"""Application groups and what the classifier says about a process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


_OWNERS: list[Any] = [None, 0, {}]  # the groups sequence last indexed, its length, pid -> group


def owners(groups: Sequence[AppGroup]) -> Mapping[int, AppGroup]:
    """pid -> the group holding it. Built once per sequence: the helper hands the same list every
    tick until it regroups, so looking up a few pids (the focused, the audio, the busy ones) costs
    a few dict reads instead of a scan of every group's members."""
    if _OWNERS[0] is not groups or _OWNERS[1] != len(groups):
        _OWNERS[:] = [groups, len(groups), {pid: g for g in groups for pid in g.members}]
    index: dict[int, AppGroup] = _OWNERS[2]
    return index
