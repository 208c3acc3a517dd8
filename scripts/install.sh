#!/bin/sh
# Install SmoothDesk's system files (systemd, D-Bus, polkit, tmpfiles, vendor config and rules)
# under DESTDIR, at the paths a distribution ships them. The Python package is not installed
# here: pip does that.
#
# usage: scripts/install.sh [DESTDIR] [PREFIX]     (defaults: DESTDIR empty, PREFIX /usr)
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

install_files "$PKG/systemd/system" '*.service' "$PREFIX/lib/systemd/system"
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

# The unit names the executable by its path; keep it pointing where pip put it.
if [ "$PREFIX" != /usr ]; then
    unit=$DESTDIR$PREFIX/lib/systemd/system/smoothdesk-helper.service
    sed -i "s|^ExecStart=/usr/bin/|ExecStart=$PREFIX/bin/|" "$unit"
    echo "adjusted ExecStart in $unit for PREFIX=$PREFIX"
fi
