// SmoothDesk focus extension for GNOME Shell 43 and 44 (legacy imports).
const {Gio, GLib, Meta, Shell} = imports.gi;

// @FOCUS_REPORTER@

class SmoothDeskFocusExtension {
    constructor() {
        this._reporter = null;
    }

    enable() {
        this._reporter = new FocusReporter();
        this._reporter.start();
    }

    disable() {
        this._reporter.stop();
        this._reporter = null;
    }
}

/* exported init */
function init() {
    return new SmoothDeskFocusExtension();
}
