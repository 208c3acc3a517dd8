"""Wayland focus: which source the compositor offers, and otherwise a clear "focus unknown" reason."""

from __future__ import annotations

from collections.abc import Mapping

from smoothdesk.agent.focus_sway import probe

NO_SOURCE = (
    "Wayland session ({desktop}): no focus source: sway's IPC ($SWAYSOCK){sway}; GNOME Shell and KWin "
    "report it through the SmoothDesk extension or KWin script, and neither runs here; other "
    "compositors name no process (wlr-foreign-toplevel has no pid); X11's _NET_ACTIVE_WINDOW would "
    "only see XWayland windows, so it is not used"
)


def is_wayland(env: Mapping[str, str]) -> bool:
    """True in a Wayland session, even one that also offers XWayland through DISPLAY."""
    return env.get("XDG_SESSION_TYPE", "").lower() == "wayland" or bool(env.get("WAYLAND_DISPLAY"))


def focus_source(env: Mapping[str, str]) -> tuple[str, str]:
    """("x11", "") when EWMH focus can be trusted, ("sway", "") when sway's IPC answers, else
    ("unknown", why).

    Under Wayland the X root window's _NET_ACTIVE_WINDOW is stale whenever a native Wayland
    window has focus: reporting it would fake the focus, which the agent never does.
    """
    if is_wayland(env):
        swaysock = env.get("SWAYSOCK", "")
        why = probe(swaysock) if swaysock else ""
        if swaysock and not why:
            return "sway", ""
        desktop = env.get("XDG_CURRENT_DESKTOP") or "unknown desktop"
        return "unknown", NO_SOURCE.format(desktop=desktop, sway=f", but {why}" if why else ", not set here")
    if not env.get("DISPLAY"):
        return "unknown", "no display: neither DISPLAY nor WAYLAND_DISPLAY is set"
    return "x11", ""
