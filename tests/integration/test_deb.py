"""The .deb for real: its contents and lintian, then dpkg-installed into a throwaway root, where the
installed helper runs a tick, D-Bus activation starts it from the installed files, remove keeps the
conffile and purge leaves nothing behind. The tests run in file order, on one installed root."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.dbus.names import BUS_NAME, INTERFACE, OBJECT_PATH
from tests.support import deb as debs
from tests.support.bus import system_bus_config
from tests.support.tools import needs

pytestmark = [
    pytest.mark.root,
    pytest.mark.slow,
    needs(debs.missing_tools(), "building the .deb (make deb)"),
    pytest.mark.timeout(1800),
]

VENV = "/usr/lib/smoothdesk"
# Debian packages the .deb must depend on for what it does not bundle.
REQUIRED_DEPENDS = {
    "dbus",
    "polkitd",
    "python3.11",
    "libxcb-cursor0",
    "libxkbcommon-x11-0",
    "libxcb-icccm4",
    "libwayland-client0",
    "libwayland-cursor0",
    "libegl1",
    "libfontconfig1",
}
EXPECTED_FILES = (
    "usr/bin/smoothdesk",
    "usr/bin/smoothdeskctl",
    "usr/bin/smoothdesk-helper",
    "lib/systemd/system/smoothdesk-helper.service",
    "lib/systemd/system/smoothdesk-helper.service.d/exporter-loopback.conf",
    "usr/share/dbus-1/system.d/org.smoothdesk.Helper1.conf",
    "usr/share/dbus-1/system-services/org.smoothdesk.Helper1.service",
    "usr/share/polkit-1/actions/org.smoothdesk.policy",
    "usr/lib/tmpfiles.d/smoothdesk.conf",
    "usr/share/smoothdesk/config.toml",
    "usr/share/smoothdesk/rules.d/10-build.toml",
    "usr/share/smoothdesk/model/attention.onnx",
    "etc/smoothdesk/config.toml",
    "usr/share/applications/smoothdesk.desktop",
    "usr/share/icons/hicolor/scalable/apps/smoothdesk.svg",
    "usr/share/metainfo/org.smoothdesk.SmoothDesk.metainfo.xml",
    "usr/share/man/man1/smoothdeskctl.1.gz",
    "usr/share/man/man1/smoothdesk.1.gz",
    "usr/share/man/man5/smoothdesk.conf.5.gz",
    "usr/share/man/man8/smoothdesk-helper.8.gz",
    "usr/share/bash-completion/completions/smoothdeskctl",
    "usr/share/zsh/vendor-completions/_smoothdeskctl",
    "usr/share/fish/vendor_completions.d/smoothdeskctl.fish",
    "usr/share/doc/smoothdesk/copyright",
    f"{VENV.lstrip('/')}/bin/smoothdesk-helper",
    f"{VENV.lstrip('/')}/lib/python3.11/site-packages/smoothdesk/resources/icons/ok.svg",
)
# The helper in the root must not touch this machine's processes: the admin config (the conffile)
# makes it a dry run, and is also the change that `dpkg --remove` must keep.
ADMIN_CONFIG = "# changed by the test\n[helper]\ndry_run = true\n[rules]\nananicy_dirs = []\n"


@pytest.fixture(scope="module")
def deb() -> Path:
    return debs.built_deb()


@pytest.fixture(scope="module")
def lintian(deb: Path) -> Iterator[debs.Lintian]:
    run = debs.Lintian(deb)
    yield run
    run.close()


@pytest.fixture(scope="module")
def root(deb: Path, lintian: debs.Lintian) -> Iterator[debs.Root]:
    missing = [
        p
        for p in _depends(deb)
        if subprocess.run(["dpkg-query", "-W", p], capture_output=True, check=False).returncode != 0
    ]
    assert not missing, (
        f"the package's Depends are not installed here (add them to the Makefile's APT lists): {missing}"
    )
    r = debs.Root()
    try:
        target = r.file("/tmp/smoothdesk.deb")
        target.write_bytes(deb.read_bytes())
        r.run("dpkg", "--install", "/tmp/smoothdesk.deb", timeout=900)
        r.file("/tmp/smoothdesk.deb").unlink()
        yield r
    finally:
        r.close()


def _depends(deb: Path) -> list[str]:
    field = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True, check=True
    )
    return [re.split(r"[\s(]", item.strip())[0] for item in field.stdout.split(",") if item.strip()]


# ------------------------------------------------------------------------------ the package file


def _contents(deb: Path) -> set[str]:
    """The package's paths, relative to /, without a trailing slash."""
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True)
    return {line.split()[5].removeprefix("./").rstrip("/") for line in listing.stdout.splitlines()}


def test_the_package_holds_every_file_it_should_and_no_byte_code(deb: Path) -> None:
    paths = _contents(deb)
    for path in EXPECTED_FILES:
        assert path in paths, path
    assert not [p for p in paths if "__pycache__" in p or p.endswith(".pyc")]
    assert not [p for p in paths if p.startswith("opt/")]  # Debian packages may not use /opt
    # No catboost (the trainer's extra) and no dev tools in the runtime environment.
    assert not [p for p in paths if re.search(r"site-packages/(catboost|pytest|mypy|ruff)", p)]


def test_the_control_fields(deb: Path) -> None:
    depends = set(_depends(deb))
    assert depends >= REQUIRED_DEPENDS, REQUIRED_DEPENDS - depends
    conffiles = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(conffiles)) as tar:
        member = tar.extractfile("./conffiles")
        assert member is not None
        assert member.read().decode().split() == ["/etc/smoothdesk/config.toml"]
    version = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=True
    )
    assert deb.name == f"smoothdesk_{version.stdout.strip()}_{debs.version_and_arch()[1]}.deb"


# ------------------------------------------------------------------------------- installed, real


def test_install_enabled_the_unit_and_ran_tmpfiles(root: debs.Root) -> None:
    wants = root.file("/etc/systemd/system/multi-user.target.wants/smoothdesk-helper.service")
    assert wants.is_symlink() and os.readlink(wants) == "/lib/systemd/system/smoothdesk-helper.service"
    assert root.file("/etc/systemd/system/dbus-org.smoothdesk.Helper1.service").is_symlink()
    assert root.file("/run/smoothdesk").is_dir() and root.file("/etc/smoothdesk/rules.d").is_dir()
    # postinst compiled the environment (no byte code ships; see prerm).
    assert list(root.file(f"{VENV}/lib/python3.11/site-packages/smoothdesk/__pycache__").glob("*.pyc"))


def test_systemd_verify_passes_on_the_installed_unit(root: debs.Root) -> None:
    result = root.run(
        "systemd-analyze",
        "verify",
        "--man=no",
        "--generators=no",
        "/lib/systemd/system/smoothdesk-helper.service",
        check=False,
    )
    findings = [line for line in (result.stdout + result.stderr).splitlines() if "smoothdesk" in line]
    assert result.returncode == 0 and findings == [], result.stdout + result.stderr
    # What verify checks that the repository's copy could not pass: the executable is real.
    target = os.readlink(root.file("/usr/bin/smoothdesk-helper"))
    assert (
        target == f"{VENV}/bin/smoothdesk-helper"
        or root.file("/usr/bin").joinpath(target).resolve().name == "smoothdesk-helper"
    )
    assert os.access(root.file(f"{VENV}/bin/smoothdesk-helper"), os.X_OK)


def test_the_installed_helper_runs_one_tick(root: debs.Root) -> None:
    root.file("/etc/smoothdesk/config.toml").write_text(ADMIN_CONFIG)
    result = root.run("/usr/bin/smoothdesk-helper", "--once", "--json", timeout=180)
    out = json.loads(result.stdout)
    assert out["decisions"], out
    # It found the vendor rules and the packaged model, not the repository's.
    assert "/work/" not in result.stdout + result.stderr


def test_the_installed_cli_and_tray_start(root: debs.Root) -> None:
    assert root.run("/usr/bin/smoothdeskctl", "--version").stdout.startswith("smoothdeskctl ")
    help_text = root.run("/usr/bin/smoothdesk", "--help").stdout
    assert "--agent-only" in help_text
    # The tray's icons come from the package data of the installed environment.
    probe = root.run(
        f"{VENV}/bin/python",
        "-c",
        "from smoothdesk.config.resources import resource_dir; print(resource_dir('icons'))",
    ).stdout.strip()
    assert probe == f"{VENV}/lib/python3.11/site-packages/smoothdesk/resources/icons"


def test_man_pages_and_completions_are_found_where_the_tools_look(root: debs.Root) -> None:
    assert root.run("man", "-w", "smoothdeskctl").stdout.strip() == "/usr/share/man/man1/smoothdeskctl.1.gz"
    assert (
        root.run("man", "-w", "8", "smoothdesk-helper").stdout.strip().endswith("man8/smoothdesk-helper.8.gz")
    )
    assert root.run("man", "-w", "5", "smoothdesk.conf").stdout.strip().endswith("man5/smoothdesk.conf.5.gz")
    rendered = root.run("man", "smoothdeskctl", env={"MANWIDTH": "100", "MANPAGER": "cat"}).stdout
    assert "set-class" in rendered
    # Not --no-config, which also skips the vendor completion directories; no user config either.
    fish = root.run(
        "fish", "-c", "complete -C 'smoothdeskctl se'", env={"XDG_CONFIG_HOME": "/tmp/fish-config"}
    ).stdout
    assert fish.startswith("set-class")
    bash = root.run(
        "bash",
        "-c",
        ". /usr/share/bash-completion/completions/smoothdeskctl; "
        "COMP_WORDS=(smoothdeskctl rules a); COMP_CWORD=2; _smoothdeskctl; echo ${COMPREPLY[@]}",
    ).stdout.split()
    assert bash == ["add"]


def test_the_desktop_file_and_metainfo_validate_installed(root: debs.Root) -> None:
    root.run("desktop-file-validate", "/usr/share/applications/smoothdesk.desktop")
    root.run(
        "appstreamcli", "validate", "--no-net", "/usr/share/metainfo/org.smoothdesk.SmoothDesk.metainfo.xml"
    )


def test_dbus_activation_starts_the_installed_helper(root: debs.Root) -> None:
    """A system-like dbus-daemon in the root that reads only the installed system.d and
    system-services; no systemd runs, so dbus-daemon runs the activation file's Exec= itself."""
    bus_dir = root.file("/tmp/sd-sysbus")
    bus_dir.mkdir(mode=0o755)
    socket = "/tmp/sd-sysbus/bus"
    config = system_bus_config(
        Path(socket),
        Path("/usr/share/dbus-1/system.d"),
        services=Path("/usr/share/dbus-1/system-services"),
        # A loaded CI machine may take longer than the default 25 s to start Python and tick once.
        extra='  <limit name="service_start_timeout">120000</limit>\n',
    )
    (bus_dir / "bus.conf").write_text(config)
    address = f"unix:path={socket}"
    # The opt-in exporter on, on a free loopback port: the helper's own /metrics must serve.
    port = _free_port()
    root.file("/etc/smoothdesk/config.toml").write_text(
        ADMIN_CONFIG + f'[exporter]\nenabled = true\naddress = "127.0.0.1"\nport = {port}\n'
    )
    # Activated services inherit the daemon's environment: the helper's `--bus system` finds this bus.
    daemon = root.popen(
        "dbus-daemon",
        "--config-file=/tmp/sd-sysbus/bus.conf",
        "--nofork",
        "--print-address",
        env={"DBUS_SYSTEM_BUS_ADDRESS": address},
    )
    helper_pid = 0
    try:
        assert daemon.stdout is not None
        assert daemon.stdout.readline().strip().startswith("unix:path=" + socket)
        env = {"DBUS_SYSTEM_BUS_ADDRESS": address}
        names = root.run(
            "dbus-send",
            "--system",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListActivatableNames",
            env=env,
        ).stdout
        assert f'"{BUS_NAME}"' in names
        before = root.run(
            "dbus-send",
            "--system",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            f"string:{BUS_NAME}",
            env=env,
        ).stdout
        assert "boolean false" in before
        # The first call to the name starts the helper (auto-start), and is answered by it.
        status = root.run(
            "/usr/bin/smoothdeskctl", "--bus", "system", "--json", "status", env=env, timeout=120
        )
        assert json.loads(status.stdout)["mode"] == "root"
        pid_reply = root.run(
            "dbus-send",
            "--system",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            f"string:{BUS_NAME}",
            env=env,
        ).stdout
        helper_pid = int(pid_reply.split()[-1])
        assert os.readlink(f"/proc/{helper_pid}/root") == str(root.path)  # the installed one, in the root
        cmdline = Path(f"/proc/{helper_pid}/cmdline").read_bytes().split(b"\0")
        assert b"/usr/bin/smoothdesk-helper" in cmdline and b"system" in cmdline
        assert Path(f"/proc/{helper_pid}/exe").resolve().name.startswith("python3.11")
        introspect = root.run(
            "dbus-send",
            "--system",
            "--print-reply",
            f"--dest={BUS_NAME}",
            OBJECT_PATH,
            "org.freedesktop.DBus.Introspectable.Introspect",
            env=env,
        ).stdout
        assert INTERFACE in introspect
        metrics = _scrape(f"http://127.0.0.1:{port}/metrics")
        assert "smoothdesk_" in metrics, metrics[:500]
    finally:
        if helper_pid:
            os.kill(helper_pid, signal.SIGTERM)  # it restores (nothing: dry run) and exits
            _wait_gone(helper_pid)
        daemon.terminate()
        daemon.communicate(timeout=30)
        for path in sorted(bus_dir.rglob("*"), reverse=True):
            path.unlink()
        bus_dir.rmdir()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(url: str, timeout: float = 60.0) -> str:
    """The exporter starts with the helper's loop: retry until it answers."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"the activated helper {pid} did not stop on SIGTERM within {timeout} s")


def test_remove_keeps_the_changed_conffile_and_purge_leaves_nothing(root: debs.Root, deb: Path) -> None:
    # What a running helper makes: its snapshot log, and the rules file AddRule writes.
    root.file("/var/lib/smoothdesk").mkdir(exist_ok=True)
    root.file("/var/lib/smoothdesk/snapshots.sqlite").write_bytes(b"SQLite format 3\0")
    root.file("/etc/smoothdesk/rules.d/90-dbus.toml").write_text("# rules added over D-Bus\n")
    root.run("dpkg", "--remove", "smoothdesk")
    assert root.file("/etc/smoothdesk/config.toml").read_text().startswith(ADMIN_CONFIG)
    assert not root.file("/usr/bin/smoothdesk-helper").exists()
    assert not root.file(VENV).exists(), "remove left files in the environment (byte code?)"
    root.run("dpkg", "--purge", "smoothdesk")
    for gone in ("/etc/smoothdesk", "/var/lib/smoothdesk", "/run/smoothdesk"):
        assert not root.file(gone).exists(), gone
    # A file of ours that was also on this machine (another test put the polkit policy there) is
    # deleted by dpkg like any file it installed: that deletion is the package's own.
    # So is what postrm purge removes by design, where this machine had it before (test runs).
    purged = ("var/lib/smoothdesk", "etc/smoothdesk", "var/cache/smoothdesk")
    ours = {"-" + p for p in (*_contents(deb), *purged)}
    left = [c for c in root.leftovers() if c not in ours]
    assert left == [], "\n".join(left)
    status = root.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "smoothdesk", check=False)
    assert status.returncode != 0 or status.stdout.strip() in ("", "un")


def test_lintian_reports_no_errors(lintian: debs.Lintian, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = lintian.result()
    errors = [line for line in lines if line.startswith("E:")]
    warnings = sorted({" ".join(line.split()[:3]) for line in lines if line.startswith("W:")})
    with capsys.disabled():
        print("\nlintian warnings (tag, once each):\n  " + "\n  ".join(warnings or ["none"]))
    assert errors == [], "\n".join(errors)
    assert code == 0, "\n".join(lines[-20:])
