// SmoothDesk focus reporter: tells the SmoothDesk session agent which window has focus.
// Shared by extension-esm.js (GNOME 45+) and extension-legacy.js (GNOME 43-44); the installer
// puts it in place of the @FOCUS_REPORTER@ line, after the wrapper has imported Gio, GLib, Meta
// and Shell. Only the session bus is used: the agent listens on the user's own bus alone.

const AGENT_NAME = 'org.smoothdesk.FocusReceiver1';
const AGENT_PATH = '/org/smoothdesk/FocusReceiver1';
const AGENT_IFACE = 'org.smoothdesk.FocusReceiver1';
const CALL_TIMEOUT_MS = 2000;

class FocusReporter {
    start() {
        this._tracker = Shell.WindowTracker.get_default();
        this._agent = null;
        this._focusId = global.display.connect('notify::focus-window', () => this._report());
        // The agent may start after the shell or restart: it hears the focus as soon as it appears.
        this._watchId = Gio.bus_watch_name(Gio.BusType.SESSION, AGENT_NAME,
            Gio.BusNameWatcherFlags.NONE,
            (_conn, _name, owner) => {
                this._agent = owner;
                this._report();
            },
            () => {
                this._agent = null;
            });
    }

    stop() {
        global.display.disconnect(this._focusId);
        Gio.bus_unwatch_name(this._watchId);
        if (this._agent !== null)
            this._call('Stopped', null);
        this._agent = null;
        this._tracker = null;
    }

    _describe() {
        const win = global.display.focus_window;
        if (!win)
            return [0, '', false];
        const pid = win.get_pid();
        const app = this._tracker.get_window_app(win);
        let id = app ? app.get_id() : '';
        // 'window:N' is the tracker's stand-in for a window it matched to no .desktop file.
        if (!id || id.startsWith('window:'))
            id = win.get_sandboxed_app_id() || win.get_gtk_application_id() || win.get_wm_class() || '';
        const xwayland = win.get_client_type() === Meta.WindowClientType.X11;
        return [pid > 0 ? pid : -1, id.replace(/\.desktop$/, ''), xwayland];
    }

    _report() {
        if (this._agent === null)
            return;
        this._call('ReportFocus', new GLib.Variant('(isb)', this._describe()));
    }

    _call(method, args) {
        // To the owner's unique name: only the agent that the watcher saw gets the report.
        Gio.DBus.session.call(this._agent, AGENT_PATH, AGENT_IFACE, method, args, null,
            Gio.DBusCallFlags.NO_AUTO_START, CALL_TIMEOUT_MS, null, (conn, res) => {
                try {
                    conn.call_finish(res);
                } catch (e) {
                    console.warn(`SmoothDesk focus: ${method} failed: ${e.message}`);
                }
            });
    }
}
