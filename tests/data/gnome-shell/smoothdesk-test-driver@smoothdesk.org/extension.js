// Tests only: what swaymsg and xdotool do for the other test sessions, for GNOME Shell 43-44.
const {Gio} = imports.gi;

const IFACE = `<node><interface name="org.smoothdesk.TestDriver">
  <method name="Activate"><arg type="i" direction="in"/><arg type="b" direction="out"/></method>
  <method name="FocusedPid"><arg type="i" direction="out"/></method>
  <method name="WindowPids"><arg type="ai" direction="out"/></method>
</interface></node>`;

class Driver {
    Activate(pid) {
        const win = global.display.list_all_windows().find(w => w.get_pid() === pid);
        if (!win)
            return false;
        win.activate(global.display.get_current_time_roundtrip());
        return true;
    }

    FocusedPid() {
        const win = global.display.focus_window;
        return win ? win.get_pid() : 0;
    }

    WindowPids() {
        return global.display.list_all_windows().map(w => w.get_pid());
    }
}

class Extension {
    enable() {
        this._object = Gio.DBusExportedObject.wrapJSObject(IFACE, new Driver());
        this._object.export(Gio.DBus.session, '/org/smoothdesk/TestDriver');
        this._name = Gio.bus_own_name(Gio.BusType.SESSION, 'org.smoothdesk.TestDriver',
            Gio.BusNameOwnerFlags.NONE, null, null, null);
    }

    disable() {
        Gio.bus_unown_name(this._name);
        this._object.unexport();
    }
}

/* exported init */
function init() {
    return new Extension();
}
