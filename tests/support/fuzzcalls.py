"""Hypothesis strategies for D-Bus calls built from the method table: right and wrong signatures,
huge strings, regex bombs, hostile paths, NaN and out-of-range numbers, and fds that are no pidfd."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smoothdesk.dbus.names import METHODS

NASTY_STRINGS = [
    "",
    "x" * 50_000,
    "(a+)+$",
    "((.*)*)*y",
    "(?:a|a)*$" * 20,
    "/etc/shadow",
    "../../../../etc/passwd",
    "/proc/1/root/etc",
    "idle\n--class critical",
    "\u202e\u0000".replace("\u0000", ""),
    "1",
    "init",
    "kernel",
    "self",
]


def _split(signature: str) -> list[str]:
    """Split a signature into complete types (enough for the types our table uses)."""
    out, i = [], 0
    while i < len(signature):
        j = i
        while signature[j] == "a":
            j += 1
        if signature[j] in "({":
            depth, k = 0, j
            while True:
                depth += signature[k] in "({"
                depth -= signature[k] in ")}"
                k += 1
                if depth == 0:
                    break
            j = k - 1
        out.append(signature[i : j + 1])
        i = j + 1
    return out


def value_for(t: str) -> st.SearchStrategy[Any]:
    text = st.one_of(st.text(max_size=40), st.sampled_from(NASTY_STRINGS))
    scalar: dict[str, st.SearchStrategy[Any]] = {
        "s": text,
        "d": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-1.0, 0.0, 1e12])),
        "u": st.integers(0, 2**32 - 1),
        "t": st.integers(0, 2**64 - 1),
        "x": st.integers(-(2**63), 2**63 - 1),
        "b": st.booleans(),
        "h": st.just(0),
    }
    if t in scalar:
        return scalar[t]
    if t == "a{sv}":
        item = st.one_of(
            st.tuples(st.just("s"), text), st.tuples(st.just("x"), st.integers(-(2**63), 2**63 - 1))
        ).map(list)
        keys = st.one_of(
            st.sampled_from(["name", "exe", "cmdline", "class", "type", "parent", "unit", "bogus"]),
            st.text(max_size=10),
        )
        return st.dictionaries(keys, item, max_size=6)
    if t.startswith("a(") or t.startswith("a"):
        inner = t[1:]
        if inner.startswith("(") and inner.endswith(")"):
            return st.lists(st.tuples(*[value_for(p) for p in _split(inner[1:-1])]).map(list), max_size=5)
        return st.lists(value_for(inner), max_size=5)
    return st.nothing()


SIGNATURE_POOL = sorted({m.in_signature for m in METHODS} | {"", "s", "ss", "d", "u", "as", "a{sv}", "ssd"})


@st.composite
def calls(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(st.sampled_from(METHODS))
    signature = spec.in_signature if draw(st.booleans()) else draw(st.sampled_from(SIGNATURE_POOL))
    body = [draw(value_for(t)) for t in _split(signature)]
    return {"member": spec.name, "signature": signature, "body": body, "fd": "h" in signature}
