"""`--install-integration` where the .deb put the focus integrations system-wide (XDG_DATA_DIRS):
it enables that copy and installs nothing per user, under the real GNOME Shell and KWin; a user's
own copy, which the compositor would load first, is still installed and kept current."""

from __future__ import annotations

import shutil
from pathlib import Path

from smoothdesk.agent.focus_select import EXTENSION_UUID, KWIN_SCRIPT
from smoothdesk.agent.integration import build_extension, system_copy
from tests.support import gnome, kwin
from tests.support.install_cli import install_integration
from tests.support.procs import wait_for
from tests.support.tools import needs
from tests.support.users import REPO

ENABLED = 1  # GNOME Shell's ExtensionState.ENABLED


def _dirs(env: dict[str, str], system: Path) -> str:
    return f"{system}:{env.get('XDG_DATA_DIRS', '/usr/local/share:/usr/share')}"


@needs(gnome.missing_tools(), "the GNOME Shell focus tests")
def test_gnome_enables_the_system_wide_extension_and_installs_none_per_user(tmp_path: Path) -> None:
    system = tmp_path / "share"
    # What debian/rules builds for bookworm's GNOME 43.
    build_extension(system / "gnome-shell/extensions", 43)
    out: list[str] = []

    def before_shell(g: gnome.GnomeSession) -> None:
        g.env["XDG_DATA_DIRS"] = _dirs(g.env, system)  # the shell reads it too: it loads from there
        out.append(install_integration(g.env))

    with gnome.gnomesession(install=False, before_shell=before_shell) as g:
        assert "installed system-wide in " + str(system / "gnome-shell/extensions") in out[0], out
        assert not (Path(g.env["XDG_DATA_HOME"]) / "gnome-shell/extensions" / EXTENSION_UUID).exists()
        assert wait_for(lambda: g.extension_state(EXTENSION_UUID) == ENABLED, 30), g.log_text()[-2000:]


@needs(kwin.missing_tools(), "the KWin focus tests")
def test_kwin_loads_the_system_wide_script_without_kpackagetool(tmp_path: Path) -> None:
    system = tmp_path / "share"
    shutil.copytree(REPO / "resources/kwin" / KWIN_SCRIPT, system / "kwin/scripts" / KWIN_SCRIPT)
    with kwin.kwinsession(install=False) as k:
        env = {**k.env, "XDG_DATA_DIRS": _dirs(k.env, system)}
        out = install_integration(env)
        assert f"system-wide KWin script {KWIN_SCRIPT} ({system / 'kwin/scripts' / KWIN_SCRIPT})" in out, out
        assert f"loaded {system / 'kwin/scripts' / KWIN_SCRIPT}/contents/code/main.js" in out, out
        assert k.script_loaded(KWIN_SCRIPT)
        assert not (Path(env["XDG_DATA_HOME"]) / "kwin/scripts" / KWIN_SCRIPT).exists()  # no kpackagetool
        assert "smoothdesk-focusEnabled=true" in (k.root / "home/.config/kwinrc").read_text()


def test_a_users_own_copy_wins_over_the_system_wide_one(tmp_path: Path) -> None:
    system, home = tmp_path / "share", tmp_path / "home"
    relative = f"kwin/scripts/{KWIN_SCRIPT}"
    shutil.copytree(REPO / "resources/kwin" / KWIN_SCRIPT, system / relative)
    env = {"XDG_DATA_HOME": str(home), "XDG_DATA_DIRS": f"{tmp_path / 'none'}:{system}"}
    assert system_copy(env, relative) == system / relative
    (home / relative).mkdir(parents=True)
    assert system_copy(env, relative) is None
