"""Install the compositor integrations for this user: the GNOME Shell extension and the KWin script.

The extension is built from one source (resources/gnome-shell/focus.js) for the running shell:
the ES-module wrapper for GNOME 45 and later, the legacy-imports one for 43 and 44. Nothing
generated is kept in the tree; `build_extension` is also what a package build would call.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from dbus_fast.aio import MessageBus

from smoothdesk.agent.focus_select import (
    DBUS,
    EXTENSION_UUID,
    KWIN_SCRIPT,
    KWIN_SCRIPTING,
    call_method,
    close,
    session_address,
)
from smoothdesk.agent.focus_shell import GNOME, KWIN
from smoothdesk.config.resources import resource_dir

MARKER = "// @FOCUS_REPORTER@"
ESM_FROM = 45  # GNOME Shell moved extensions to ES modules in 45
LEGACY_VERSIONS = ["43", "44"]
ESM_VERSIONS = ["45", "46", "47", "48", "49"]
TIMEOUT = 60


class IntegrationError(Exception):
    """An install step failed; the message names the command and what it printed."""


def build_extension(dest: Path, shell_major: int) -> Path:
    """Write the extension for GNOME Shell `shell_major` into dest/<uuid>/ and return that directory."""
    if shell_major < 43:
        raise IntegrationError(f"GNOME Shell {shell_major} is older than 43, which the extension needs")
    src = resource_dir("gnome-shell")
    esm = shell_major >= ESM_FROM
    wrapper = (src / ("extension-esm.js" if esm else "extension-legacy.js")).read_text(encoding="utf-8")
    if wrapper.count(MARKER) != 1:
        raise IntegrationError(f"{src}: the wrapper must hold the line {MARKER!r} exactly once")
    reporter = (src / "focus.js").read_text(encoding="utf-8")
    out = dest / EXTENSION_UUID
    out.mkdir(parents=True, exist_ok=True)
    (out / "extension.js").write_text(wrapper.replace(MARKER, reporter), encoding="utf-8")
    metadata = (src / "metadata.json").read_text(encoding="utf-8")
    versions = ESM_VERSIONS if esm else LEGACY_VERSIONS
    if str(shell_major) not in versions:
        versions = [*versions, str(shell_major)]  # newer than we know: claim it, the shell checks the rest
    listed = ", ".join(f'"{v}"' for v in versions)
    (out / "metadata.json").write_text(
        metadata.replace('"shell-version": []', f'"shell-version": [{listed}]')
    )
    return out


def _run(argv: list[str], env: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(
            argv, env=dict(env), capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except OSError as exc:
        raise IntegrationError(f"{argv[0]}: {exc}") from None
    if done.returncode != 0:
        raise IntegrationError(
            f"`{' '.join(argv)}` failed ({done.returncode}): {(done.stderr or done.stdout).strip()}"
        )
    return done.stdout


def shell_major(env: Mapping[str, str]) -> int:
    out = _run(["gnome-shell", "--version"], env)
    found = re.search(r"(\d+)\.", out)
    if found is None:
        raise IntegrationError(f"cannot read a version from `gnome-shell --version`: {out.strip()!r}")
    return int(found.group(1))


def system_copy(env: Mapping[str, str], relative: str) -> Path | None:
    """The package's system-wide copy (XDG_DATA_DIRS/relative), unless this user has one of their
    own, which the compositor would load instead and which is then kept up to date as before."""
    if (data_home(env) / relative).exists():
        return None
    for d in env.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":"):
        if d and (Path(d) / relative / "metadata.json").is_file():
            return Path(d) / relative
    return None


def _serves(extension: Path, major: int) -> bool:
    try:
        metadata = json.loads((extension / "metadata.json").read_text(encoding="utf-8"))
        return str(major) in metadata["shell-version"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def install_gnome(env: Mapping[str, str]) -> list[str]:
    """gnome-extensions install --force and enable, for this user; what happened, line by line.
    A system-wide copy (the .deb's) that serves this shell is only enabled."""
    major = shell_major(env)
    system = system_copy(env, f"gnome-shell/extensions/{EXTENSION_UUID}")
    if system is not None and _serves(system, major):
        _run(["gnome-extensions", "enable", EXTENSION_UUID], env)
        return [
            f"enabled the GNOME Shell extension {EXTENSION_UUID} installed system-wide in {system}",
            "GNOME Shell loads a newly enabled extension at the next login if it did not load it "
            "already: log out and in once (on X11, Alt+F2 r also does it)",
        ]
    with tempfile.TemporaryDirectory(prefix="sd-ext-") as tmp:
        built = build_extension(Path(tmp), major)
        bundle = Path(tmp) / f"{EXTENSION_UUID}.shell-extension.zip"
        with zipfile.ZipFile(bundle, "w") as z:
            for name in ("extension.js", "metadata.json"):
                z.write(built / name, name)
        _run(["gnome-extensions", "install", "--force", str(bundle)], env)
    _run(["gnome-extensions", "enable", EXTENSION_UUID], env)
    style = "ES module" if major >= ESM_FROM else "legacy imports"
    return [
        f"installed and enabled the GNOME Shell extension {EXTENSION_UUID} (GNOME {major}, {style})",
        "GNOME Shell loads a newly installed extension at the next login: log out and in once "
        "(on X11, Alt+F2 r also does it)",
    ]


def kwin_tools() -> tuple[str, int]:
    """(kpackagetool, Plasma major) for the installed KWin."""
    for tool, major in (("kpackagetool6", 6), ("kpackagetool5", 5)):
        if shutil.which(tool):
            return tool, major
    raise IntegrationError("neither kpackagetool6 nor kpackagetool5 is installed (Debian: kpackagetool5)")


def data_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("XDG_DATA_HOME") or Path(env.get("HOME", "~")).expanduser() / ".local/share")


def installed_script(env: Mapping[str, str]) -> Path:
    """main.js of the installed KWin script (this user's, else the system's), else the packaged one."""
    dirs = [
        data_home(env),
        *(Path(d) for d in env.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":")),
    ]
    for d in dirs:
        main = d / "kwin/scripts" / KWIN_SCRIPT / "contents/code/main.js"
        if main.is_file():
            return main
    return resource_dir("kwin") / KWIN_SCRIPT / "contents/code/main.js"


def enable_in_kwinrc(path: Path) -> None:
    """Set [Plugins] smoothdesk-focusEnabled=true, keeping every other line of kwinrc as it is."""
    key = f"{KWIN_SCRIPT}Enabled"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    out, group, done = [], "", False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if group == "[Plugins]" and not done:
                out.append(f"{key}=true")
                done = True
            group = stripped
        elif group == "[Plugins]" and stripped.split("=", 1)[0].strip() == key:
            out.append(f"{key}=true")
            done = True
            continue
        out.append(line)
    if not done:
        if group != "[Plugins]":
            out += ["", "[Plugins]"] if out else ["[Plugins]"]
        out.append(f"{key}=true")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


async def load_kwin_script(bus: MessageBus, main: Path) -> None:
    """(Re)load the script in the running KWin through its scripting D-Bus interface and run it."""
    try:
        loaded = await call_method(bus, KWIN_SCRIPTING, "isScriptLoaded", "s", KWIN_SCRIPT)
        if loaded and loaded[0] is True:
            await call_method(bus, KWIN_SCRIPTING, "unloadScript", "s", KWIN_SCRIPT)
        await call_method(bus, KWIN_SCRIPTING, "loadScript", "ss", str(main), KWIN_SCRIPT)
        await call_method(bus, KWIN_SCRIPTING, "start")
    except LookupError as exc:
        raise IntegrationError(f"KWin's scripting interface refused to load {main}: {exc}") from None


async def kwin_report_now(bus: MessageBus, env: Mapping[str, str]) -> None:
    """Have the loaded script report the active window at once: the agent may start after KWin."""
    await load_kwin_script(bus, installed_script(env))


def install_kwin(env: Mapping[str, str], session_address: str | None) -> list[str]:
    """kpackagetool install (or upgrade), enable in kwinrc, load into the running KWin.
    A system-wide copy (the .deb's) is only enabled and loaded."""
    system = system_copy(env, f"kwin/scripts/{KWIN_SCRIPT}")
    if system is not None:
        lines = [f"enabled the system-wide KWin script {KWIN_SCRIPT} ({system}) in kwinrc"]
    else:
        tool, major = kwin_tools()
        package = resource_dir("kwin") / KWIN_SCRIPT
        argv = [tool, "--type", "KWin/Script"]
        listed = subprocess.run([*argv, "--list"], env=dict(env), capture_output=True, text=True, check=False)
        action = "--upgrade" if KWIN_SCRIPT in listed.stdout.split() else "--install"
        _run([*argv, action, str(package)], env)
        lines = [
            f"installed the KWin script {KWIN_SCRIPT} with {tool} (Plasma {major}) and enabled it in kwinrc"
        ]
    config = Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME", "~")).expanduser() / ".config")
    enable_in_kwinrc(config / "kwinrc")
    if session_address:
        main = installed_script(env)

        async def load() -> None:
            bus = await MessageBus(bus_address=session_address).connect()
            try:
                await load_kwin_script(bus, main)
            finally:
                await close(bus)

        asyncio.run(load())
        lines.append(f"loaded {main} into the running KWin")
    return lines


def install_integration(env: Mapping[str, str]) -> list[str]:
    """Install what this session's compositor needs for focus; IntegrationError when none fits.

    GNOME Shell or KWin on the session bus decides; without a session bus, XDG_CURRENT_DESKTOP.
    """
    address = session_address("session", env)
    running = asyncio.run(_compositor_on(address)) if address else ""
    desktop = env.get("XDG_CURRENT_DESKTOP", "").lower().split(":")
    if running == "gnome-shell" or (not running and "gnome" in desktop):
        if not shutil.which("gnome-extensions"):
            raise IntegrationError(
                "GNOME Shell runs here but gnome-extensions is missing (Debian: gnome-shell)"
            )
        return install_gnome(env)
    if running == "kwin" or (not running and "kde" in desktop):
        return install_kwin(env, address if running else None)
    raise IntegrationError(
        "neither GNOME Shell nor KWin runs in this session "
        f"(XDG_CURRENT_DESKTOP={env.get('XDG_CURRENT_DESKTOP', '')!r}): nothing to install; "
        "X11 and sway need no integration"
    )


async def _compositor_on(address: str) -> str:
    try:
        bus = await MessageBus(bus_address=address).connect()
    except Exception:  # no usable session bus: the desktop variable decides
        return ""
    try:
        for name, source in ((GNOME.bus_name, "gnome-shell"), (KWIN.bus_name, "kwin")):
            try:
                await call_method(bus, DBUS, "GetNameOwner", "s", name)
                return source
            except LookupError:
                continue
        return ""
    finally:
        await close(bus)


def main(env: Mapping[str, str]) -> int:
    """`smoothdesk --agent-only --install-integration`: what was done, or why not (exit 1)."""
    try:
        for line in install_integration(env):
            print(f"smoothdesk: {line}")
    except IntegrationError as exc:
        print(f"smoothdesk: cannot install the focus integration: {exc}", file=sys.stderr)
        return 1
    return 0
