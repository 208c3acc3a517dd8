"""Domain types and constants shared by every layer; stdlib only."""

from smoothdesk.core.classes import CLASS_ORDER, PriorityClass
from smoothdesk.core.decision import Decision, Hints, MemberClass, Pin, Reason
from smoothdesk.core.errors import SmoothDeskError
from smoothdesk.core.group import AppGroup, Classification
from smoothdesk.core.process import ProcessRecord, ProcKey
from smoothdesk.core.snapshot import DiskStats, NetStats, PsiFigures, Snapshot, SystemStats

__all__ = [
    "CLASS_ORDER",
    "AppGroup",
    "Classification",
    "Decision",
    "DiskStats",
    "Hints",
    "MemberClass",
    "NetStats",
    "Pin",
    "PriorityClass",
    "ProcKey",
    "ProcessRecord",
    "PsiFigures",
    "Reason",
    "SmoothDeskError",
    "Snapshot",
    "SystemStats",
]
