"""The D-Bus contract in one place: names, methods with typed signatures, signals."""

from __future__ import annotations

from dataclasses import dataclass

BUS_NAME = "org.smoothdesk.Helper1"
OBJECT_PATH = "/org/smoothdesk/Helper1"
INTERFACE = "org.smoothdesk.Helper1"


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    signature: str


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method: its arguments, its results, whether it changes state, and what it does."""

    name: str
    args: tuple[Arg, ...]
    returns: tuple[Arg, ...]
    mutating: bool
    doc: str

    @property
    def in_signature(self) -> str:
        return "".join(a.signature for a in self.args)

    @property
    def out_signature(self) -> str:
        return "".join(a.signature for a in self.returns)


@dataclass(frozen=True, slots=True)
class SignalSpec:
    name: str
    args: tuple[Arg, ...]
    doc: str


METHODS: tuple[MethodSpec, ...] = (
    MethodSpec("GetStatus", (), (Arg("status", "a{sv}"),), False, "Helper state and totals."),
    MethodSpec("ListApps", (), (Arg("apps", "aa{sv}"),), False, "Every app group, class and reasons."),
    MethodSpec("GetApp", (Arg("app", "s"),), (Arg("info", "a{sv}"),), False, "One group by id or name."),
    MethodSpec(
        "SetClass",
        (Arg("app", "s"), Arg("class_name", "s"), Arg("duration", "d")),
        (),
        True,
        "Pin an app to a class; duration in seconds, 0 means until cleared.",
    ),
    MethodSpec("ClearClass", (Arg("app", "s"),), (), True, "Remove an app's pin."),
    MethodSpec(
        "Pause",
        (Arg("duration", "d"),),
        (),
        True,
        "Undo every change and stop managing; duration in seconds, 0 means until resumed.",
    ),
    MethodSpec("Resume", (), (), True, "Resume managing."),
    MethodSpec("ReloadRules", (), (Arg("diagnostics", "as"),), True, "Reload config and rules."),
    MethodSpec("ListRules", (), (Arg("rules", "aa{sv}"),), False, "Loaded rules with their sources."),
    MethodSpec(
        "GetConfig", (), (Arg("config", "a{sv}"),), False, "Settings: section.key -> {value, origin}."
    ),
    MethodSpec("GetDoctor", (), (Arg("findings", "aa{sv}"),), False, "What works on this machine."),
    MethodSpec(
        "GetHistory",
        (Arg("seconds", "d"),),
        (Arg("samples", "aa{sv}"),),
        False,
        "Per-tick metrics of the last `seconds` (at most one hour), oldest first.",
    ),
    MethodSpec("GetAlerts", (), (Arg("alerts", "aa{sv}"),), False, "Alerts in force, most severe first."),
    MethodSpec(
        "GetSlo",
        (),
        (Arg("slos", "aa{sv}"),),
        False,
        "Each SLO: objective, windows judged and bad, error budget left, burn rates, and since: the "
        "start of the oldest window counted (the budget is rebuilt from the snapshot log at start).",
    ),
    MethodSpec(
        "GetReport",
        (Arg("seconds", "d"), Arg("format", "s")),
        (Arg("report", "s"),),
        False,
        "A report of the snapshot log's last `seconds` as json, csv or html text.",
    ),
    MethodSpec(
        "ReportFocus",
        (Arg("pid", "u"), Arg("start_time", "t")),
        (),
        True,
        "Session agent: the focused window's process (pid 0: none), one the caller owns.",
    ),
    MethodSpec("ReportFocusFd", (Arg("pidfd", "h"),), (), True, "ReportFocus by pidfd."),
    MethodSpec(
        "ReportAudio",
        (Arg("clients", "a(ut)"),),
        (),
        True,
        "Session agent: the (pid, start_time) of every audio client the caller owns.",
    ),
    MethodSpec(
        "ReportIdle",
        (Arg("seconds", "d"),),
        (),
        True,
        "Session agent: seconds since the last keyboard or mouse input in the caller's session.",
    ),
    MethodSpec(
        "ReportXruns",
        (Arg("source", "s"), Arg("count", "u"), Arg("clients", "a(utu)")),
        (),
        True,
        "Session agent: audio xruns since its last report, in all (count) and per (pid, start_time, "
        "xruns) of the caller's clients; source names where they are counted ('' : no source any more).",
    ),
    MethodSpec(
        "ReportUnknown",
        (Arg("kind", "s"), Arg("reason", "s")),
        (),
        True,
        "Session agent: its 'focus', 'audio' or 'idle' source measures nothing now (the reason says "
        "why), which is not 'nothing focused', 'nothing plays' or 'idle'; its next report of that kind "
        "ends it.",
    ),
    MethodSpec("AddRule", (Arg("rule", "a{sv}"),), (Arg("source", "s"),), True, "Add an admin rule."),
    MethodSpec(
        "DeleteRule", (Arg("matchers", "a{sv}"),), (Arg("removed", "u"),), True, "Delete admin rules."
    ),
    MethodSpec(
        "ImportAnanicy",
        (Arg("path", "s"),),
        (Arg("summary", "a{sv}"),),
        True,
        "Load an ananicy-cpp rules directory (under an allowed root) for this run.",
    ),
)

SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec("StatusChanged", (Arg("status", "a{sv}"),), "Paused, resumed or rules reloaded."),
    SignalSpec("AppsChanged", (Arg("changed", "as"),), "Group ids whose class changed."),
    SignalSpec(
        "Alert",
        (Arg("alert", "a{sv}"),),
        "An alert raised, changed in severity or resolved: id, severity, metric, value, threshold, "
        "message, since.",
    ),
    SignalSpec("Metrics", (Arg("sample", "a{sv}"),), "One tick's metrics, at most twice a second."),
)

REPORTS = frozenset(
    {"ReportFocus", "ReportFocusFd", "ReportAudio", "ReportIdle", "ReportXruns", "ReportUnknown"}
)
"""The session agent's methods: authorized by process ownership alone (no polkit), and kept per
reporting connection until it leaves the bus."""

METHODS_BY_NAME = {m.name: m for m in METHODS}
