"""Matching app groups to .desktop files in injected XDG data dirs."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from smoothdesk.gui.apps_model import NAME, AppsModel
from smoothdesk.gui.desktop_entries import DesktopEntries, exec_basename, unit_app_ids


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / "applications" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[Desktop Entry]\nType=Application\n" + body)
    return path


def test_matches_by_exec_wm_class_unit_and_prefers_the_user_dir(tmp_path: Path) -> None:
    user, system = tmp_path / "user", tmp_path / "system"
    write(
        system,
        "org.mozilla.firefox.desktop",
        "Name=Firefox\nIcon=firefox\nExec=/usr/lib/firefox/firefox %u\n",
    )
    write(
        system,
        "code.desktop",
        "Name=VS Code\nIcon=vscode\nExec=env FOO=1 /usr/bin/code --new\nStartupWMClass=Code\n",
    )
    write(system, "htop.desktop", "Name=Htop\nExec=htop\n")
    write(user, "htop.desktop", "Name=My htop\nExec=htop\n")
    write(system, "hidden.desktop", "Name=Hidden\nExec=secret\nHidden=true\n")
    (system / "applications" / "broken.desktop").write_text("no section here\n")
    entries = DesktopEntries([user, system])
    assert entries.lookup({"name": "firefox"}).name == "Firefox"  # type: ignore[union-attr]
    assert entries.lookup({"name": "code"}).name == "VS Code"  # type: ignore[union-attr]
    assert entries.lookup({"name": "Code"}).name == "VS Code"  # type: ignore[union-attr]
    assert entries.lookup({"name": "htop"}).name == "My htop"  # type: ignore[union-attr]
    assert entries.lookup({"name": "secret"}) is None
    assert entries.lookup({"name": "?", "unit": "app-gnome-firefox-4242.scope"}).name == "Firefox"  # type: ignore[union-attr]
    assert entries.lookup({"name": "nothing-like-it"}) is None


def test_exec_and_unit_parsing() -> None:
    assert exec_basename("/usr/bin/foo --bar %F") == "foo"
    assert exec_basename('env A=1 B=2 "/opt/My App/app" %U') == "app"
    assert exec_basename("") == ""
    assert unit_app_ids("app-gnome-org.gnome.Terminal-1234.scope") == [
        "gnome-org.gnome.Terminal",
        "org.gnome.Terminal",
    ]
    assert unit_app_ids("user@1000.service") == []


def test_model_shows_the_entry_name(qtbot: QtBot, tmp_path: Path) -> None:
    write(
        tmp_path, "firefox.desktop", "Name=Firefox Web Browser\nIcon=/nonexistent/firefox.png\nExec=firefox\n"
    )
    model = AppsModel(DesktopEntries([tmp_path]))
    model.set_apps(
        [{"id": "t:1", "name": "firefox", "reasons": []}, {"id": "t:2", "name": "xz", "reasons": []}]
    )
    assert model.index(0, NAME).data() == "Firefox Web Browser"
    assert model.index(1, NAME).data() == "xz"
    assert str(tmp_path / "applications" / "firefox.desktop") in model.index(0, NAME).data(3)  # tooltip
