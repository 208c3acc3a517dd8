#!/bin/sh
# `make run`: the helper in user mode on the session bus, plus the tray app (or, without a
# display, a live status view in this terminal). Ctrl-C stops both; the helper undoes its changes.
set -eu
cd "$(dirname "$0")/.."
VENV=.venv/bin
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    command -v dbus-run-session >/dev/null || { echo "error: dbus-run-session missing (apt install dbus-daemon)" >&2; exit 1; }
    echo "no session bus here: starting a private one with dbus-run-session"
    exec dbus-run-session -- "$0" "$@"
fi
"$VENV/smoothdesk-helper" --bus session --user --tick 1 &
helper=$!
trap 'kill -TERM $helper 2>/dev/null; wait $helper 2>/dev/null' EXIT INT TERM
# Wait until the helper answers on the bus (or died).
i=0
until "$VENV/smoothdeskctl" --bus session status >/dev/null 2>&1; do
    kill -0 $helper 2>/dev/null || { echo "error: the helper exited; see its messages above" >&2; exit 1; }
    i=$((i + 1)); [ $i -gt 100 ] && { echo "error: the helper did not answer within 10 s" >&2; exit 1; }
    sleep 0.1
done
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && "$VENV/python" -c 'import PySide6' 2>/dev/null; then
    "$VENV/smoothdesk" --bus session || true
else
    echo "No display (DISPLAY and WAYLAND_DISPLAY are unset): no tray icon; showing the live status view."
    echo "Press Ctrl-C to stop; the helper puts back everything it changed."
    sleep 1
    "$VENV/smoothdeskctl" --bus session status --watch || true
fi
