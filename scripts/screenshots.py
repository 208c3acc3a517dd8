"""`make screenshots`: PNGs of the tray icon, the screen, the dashboard, the applications and the rules
windows for the README, taken under Xvfb + openbox + trayer against a user-mode helper (dry run) on a
private bus, with a CPU hog running so that the graphs and the list have something to show.

Usage: .venv/bin/python scripts/screenshots.py docs/screenshots
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.bus import private_bus  # noqa: E402
from tests.support.procs import named_binary, stop, wait_for  # noqa: E402
from tests.support.xsession import missing_tools, xsession  # noqa: E402

EXPECTED = ("tray.png", "screen.png", "dashboard.png", "applications.png", "rules.png")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    missing = missing_tools("trayer")
    if missing:
        print(f"screenshots: missing {', '.join(missing)} (apt-get install xvfb openbox trayer xdotool)")
        return 1
    with tempfile.TemporaryDirectory(prefix="sd-shots-") as tmp_name, private_bus() as bus:
        tmp = Path(tmp_name)
        with xsession(tray=True, size="1280x800x24", log_dir=tmp) as x:
            config = tmp / "helper.toml"
            config.write_text("[helper]\ntick = 1.0\n[rules]\nananicy_dirs = []\n")
            log = tmp / "helper.log"
            # A build as a person starts one: `timeout 600 make -j2` in ~/src/foo, its compiler spinning.
            src = tmp / "src" / "foo"
            src.mkdir(parents=True)
            named_binary(src, "cc1plus")
            (src / "Makefile").write_text("all:\n\t./cc1plus -c 'while :; do :; done'\n")
            hog = subprocess.Popen(["timeout", "600", "make", "-j2"], cwd=src, start_new_session=True)
            helper_cmd = [sys.executable, "-m", "smoothdesk.helper.main", "--bus", bus, "--user", "--dry-run"]
            helper_cmd += ["--config", str(config), "--run-dir", str(tmp / "run")]
            with log.open("wb") as err:
                helper = subprocess.Popen(helper_cmd, stderr=err, cwd=REPO)
            try:
                if not wait_for(lambda: "serving" in log.read_text(), 30):
                    print(f"screenshots: the helper did not start:\n{log.read_text()}", file=sys.stderr)
                    return 1
                env = {
                    **x.env,
                    "QT_QPA_PLATFORM": "xcb",
                    "XDG_RUNTIME_DIR": str(tmp),
                    "XDG_CONFIG_HOME": str(tmp),
                    "HOME": str(tmp),
                }
                env.pop("DBUS_SESSION_BUS_ADDRESS", None)
                app_cmd = [sys.executable, "-m", "smoothdesk.gui.app", "--bus", bus, "--no-agent"]
                app = subprocess.run(
                    [*app_cmd, "--screenshot-dir", str(out)], env=env, cwd=REPO, timeout=120, check=False
                )
            finally:
                helper.send_signal(signal.SIGTERM)
                helper.wait(timeout=30)
                stop(hog)
    made = [name for name in EXPECTED if (out / name).is_file() and (out / name).stat().st_size > 0]
    for name in made:
        print(f"{out / name}: {(out / name).stat().st_size} bytes")
    lacking = sorted(set(EXPECTED) - set(made))
    if lacking:
        print(f"screenshots: not made: {', '.join(lacking)}", file=sys.stderr)
    return 0 if app.returncode == 0 and not lacking else 1


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main(sys.argv[1:]))
