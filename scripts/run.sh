#!/bin/sh
# `make run`: the helper in user mode on the session bus, plus the tray app (or, without a
# display, a live status view in this terminal). Ctrl-C stops both; the helper undoes its changes.
set -eu
cd "$(dirname "$0")/.."
VENV=.venv/bin
bus_pid=""
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    # Started here rather than through dbus-run-session, which Ctrl-C would kill before the
    # helper has put everything back.
    command -v dbus-daemon >/dev/null || { echo "error: dbus-daemon missing (apt install dbus-daemon)" >&2; exit 1; }
    echo "no session bus here: starting a private one"
    bus=$(dbus-daemon --session --fork --print-address=1 --print-pid=1)
    DBUS_SESSION_BUS_ADDRESS=$(echo "$bus" | sed -n 1p)
    bus_pid=$(echo "$bus" | sed -n 2p)
    export DBUS_SESSION_BUS_ADDRESS
fi
"$VENV/smoothdesk-helper" --bus session --user --tick 1 &
helper=$!
stop_helper() {
    kill -TERM $helper 2>/dev/null || true  # it may be gone already: Ctrl-C reached it too
    wait $helper 2>/dev/null || true
    [ -z "$bus_pid" ] || kill -TERM "$bus_pid" 2>/dev/null || true
}
trap stop_helper EXIT
# Ctrl-C is how this is meant to end: stop the helper (it restores everything) and exit 0.
trap 'stop_helper; trap - EXIT; exit 0' INT TERM
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
