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
)

SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec("StatusChanged", (Arg("status", "a{sv}"),), "Paused, resumed or rules reloaded."),
    SignalSpec("AppsChanged", (Arg("changed", "as"),), "Group ids whose class changed."),
)

METHODS_BY_NAME = {m.name: m for m in METHODS}
