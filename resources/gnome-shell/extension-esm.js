// SmoothDesk focus extension for GNOME Shell 45 and later (ES modules).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Meta from 'gi://Meta';
import Shell from 'gi://Shell';
import {Extension} from 'resource:///org/gnome/shell/extensions/extension.js';

// @FOCUS_REPORTER@

export default class SmoothDeskFocusExtension extends Extension {
    enable() {
        this._reporter = new FocusReporter();
        this._reporter.start();
    }

    disable() {
        this._reporter.stop();
        this._reporter = null;
    }
}
