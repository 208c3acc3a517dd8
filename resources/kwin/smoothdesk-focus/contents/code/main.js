// SmoothDesk focus reporter for KWin (Plasma 5.27 and 6): the active window's process to the
// SmoothDesk session agent, over the session bus KWin itself is on (the user's own).

const AGENT_NAME = "org.smoothdesk.FocusReceiver1";
const AGENT_PATH = "/org/smoothdesk/FocusReceiver1";
const AGENT_IFACE = "org.smoothdesk.FocusReceiver1";

// Plasma 6 renamed clients to windows; 5.27 has only the client names.
const plasma6 = typeof workspace.windowList === "function";

function describe(win) {
    if (!win)
        return [0, "", false];
    const pid = win.pid > 0 ? win.pid : -1;
    const app = String(win.desktopFileName || win.resourceClass || "");
    // XWayland windows are X11 clients with an X window id; native Wayland ones have none.
    const xwayland = win.x11Client === true || (win.x11Client === undefined && win.windowId > 0);
    return [pid, app, xwayland];
}

function report(win) {
    const [pid, app, xwayland] = describe(win);
    // Strings and a bool: KWin's callDBus would send a JS number as a double.
    callDBus(AGENT_NAME, AGENT_PATH, AGENT_IFACE, "ReportFocus", String(pid), app, xwayland);
}

if (plasma6)
    workspace.windowActivated.connect(report);
else
    workspace.clientActivated.connect(report);

report(plasma6 ? workspace.activeWindow : workspace.activeClient);
