#!/bin/sh
# Install SmoothDesk's system files (systemd, D-Bus, polkit, tmpfiles, vendor config, rules and
# model, the admin config template, the .desktop file, icon and AppStream metainfo) under DESTDIR,
# at the paths a distribution ships them. The Python package is not installed here: pip (or
# dh-virtualenv, for the .deb) does that. debian/rules calls this too, so both install the same.
#
# usage: scripts/install.sh [DESTDIR] [PREFIX]     (defaults: DESTDIR empty, PREFIX /usr)
# environment: SYSTEMD_UNIT_DIR (default PREFIX/lib/systemd/system; Debian 12 packages use
#              /lib/systemd/system), SYSCONFDIR (default /etc for PREFIX /usr, else PREFIX/etc)
set -eu

DESTDIR=${1-}
PREFIX=${2:-/usr}
case $PREFIX in
    /*) ;;
    *) echo "install.sh: PREFIX must be an absolute path, not '$PREFIX'" >&2; exit 2 ;;
esac
PREFIX=${PREFIX%/}
[ -n "$PREFIX" ] || PREFIX=/usr
DESTDIR=${DESTDIR%/}
UNITDIR=${SYSTEMD_UNIT_DIR:-$PREFIX/lib/systemd/system}
if [ "$PREFIX" = /usr ]; then ETC=${SYSCONFDIR:-/etc}; else ETC=${SYSCONFDIR:-$PREFIX/etc}; fi

SRC=$(cd "$(dirname "$0")/.." && pwd)
PKG=$SRC/packaging

# install_files SOURCE_DIR PATTERN TARGET_DIR: every file matching PATTERN, mode 0644.
# A missing source directory is skipped (the polkit actions may not exist yet).
install_files() {
    [ -d "$1" ] || return 0
    for f in "$1"/$2; do
        [ -f "$f" ] || continue
        target=$DESTDIR$3/$(basename "$f")
        install -Dm644 "$f" "$target"
        echo "installed $target"
    done
}

install_files "$PKG/systemd/system" '*.service' "$UNITDIR"
install_files "$PKG/systemd/system/smoothdesk-helper.service.d" '*.conf' "$UNITDIR/smoothdesk-helper.service.d"
install_files "$PKG/dbus/system.d" '*.conf' "$PREFIX/share/dbus-1/system.d"
install_files "$PKG/dbus/system-services" '*.service' "$PREFIX/share/dbus-1/system-services"
install_files "$PKG/dbus/interfaces" '*.xml' "$PREFIX/share/dbus-1/interfaces"
install_files "$PKG/polkit/actions" '*.policy' "$PREFIX/share/polkit-1/actions"
install_files "$PKG/polkit/rules.d" '*.rules' "$PREFIX/share/polkit-1/rules.d"
install_files "$PKG/tmpfiles.d" '*.conf' "$PREFIX/lib/tmpfiles.d"
install_files "$PKG/share/smoothdesk" 'config.toml' "$PREFIX/share/smoothdesk"
install_files "$SRC/resources/rules.d" '*.toml' "$PREFIX/share/smoothdesk/rules.d"
install_files "$SRC/resources/model" 'attention.*' "$PREFIX/share/smoothdesk/model"
install_files "$SRC/resources/icons" '*.svg' "$PREFIX/share/smoothdesk/icons"
install_files "$PKG/etc/smoothdesk" 'config.toml' "$ETC/smoothdesk"
install_files "$PKG/desktop" 'smoothdesk.desktop' "$PREFIX/share/applications"
install_files "$PKG/icons/hicolor/scalable/apps" '*.svg' "$PREFIX/share/icons/hicolor/scalable/apps"
install_files "$PKG/metainfo" '*.metainfo.xml' "$PREFIX/share/metainfo"

# The unit names the executable by its path; keep it pointing where pip put it.
if [ "$PREFIX" != /usr ]; then
    unit=$DESTDIR$UNITDIR/smoothdesk-helper.service
    sed -i -e "s|^ExecStart=/usr/bin/|ExecStart=$PREFIX/bin/|" -e "s|^ExecStopPost=/usr/bin/|ExecStopPost=$PREFIX/bin/|" "$unit"
    echo "adjusted ExecStart and ExecStopPost in $unit for PREFIX=$PREFIX"
fi
