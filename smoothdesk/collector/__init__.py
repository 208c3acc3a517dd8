"""Reads the machine: /proc, PSI, cgroups, block devices, netlink process events."""

from smoothdesk.collector.capabilities import Finding, probe
from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.netlink import ProcConnector, ProcEvent
from smoothdesk.collector.procfs import StatFields, read_process, read_stat
from smoothdesk.collector.system import SystemReader
from smoothdesk.collector.tickstats import TickStats
from smoothdesk.collector.tracker import ProcessTable

__all__ = [
    "CollectorError",
    "Finding",
    "ProcConnector",
    "ProcEvent",
    "ProcessTable",
    "StatFields",
    "SystemReader",
    "TickStats",
    "probe",
    "read_process",
    "read_stat",
]
