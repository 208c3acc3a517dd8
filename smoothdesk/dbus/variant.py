"""Conversion of plain Python values to and from D-Bus variants."""

from __future__ import annotations

from typing import Any

from dbus_fast import Variant


def to_variant(value: Any) -> Variant:
    """Pick the D-Bus type from the Python type; dicts become a{sv}, lists of dicts aa{sv}."""
    if isinstance(value, Variant):
        return value
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("x", value)
    if isinstance(value, float):
        return Variant("d", value)
    if isinstance(value, str):
        return Variant("s", value)
    if value is None:
        return Variant("s", "")
    if isinstance(value, dict):
        return Variant("a{sv}", to_vardict(value))
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return Variant("as", list(value))
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return Variant("ax", list(value))
        if all(isinstance(v, dict) for v in value):
            return Variant("aa{sv}", [to_vardict(v) for v in value])
        return Variant("av", [to_variant(v) for v in value])
    raise TypeError(f"cannot send {type(value).__name__} over D-Bus")


def to_vardict(data: dict[str, Any]) -> dict[str, Variant]:
    return {str(k): to_variant(v) for k, v in data.items()}


def from_variant(value: Any) -> Any:
    """Unwrap variants recursively into plain Python values."""
    if isinstance(value, Variant):
        return from_variant(value.value)
    if isinstance(value, dict):
        return {k: from_variant(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_variant(v) for v in value]
    return value
