"""What the .deb carries besides its Python environment (test_deb.py checks the rest): the latency
sampler compiled with Debian's hardening flags and used by the installed helper on a machine with
no C compiler, the focus integrations installed system-wide, the unit's recovery-only
ExecStopPost, and purge removing a sampler cache. Its own installed root, tests in file order."""

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

from smoothdesk.agent.integration import MARKER, build_extension
from tests.support import deb as debs
from tests.support.bus import system_bus_config
from tests.support.tools import needs
from tests.support.users import REPO

pytestmark = [
    pytest.mark.root,
    pytest.mark.slow,
    needs(debs.missing_tools(), "building the .deb (make deb)"),
    pytest.mark.timeout(1800),
]

SAMPLER = "/usr/libexec/smoothdesk/smoothdesk-sampler"
EXTENSION = "/usr/share/gnome-shell/extensions/smoothdesk-focus@smoothdesk.org"
KWIN = "/usr/share/kwin/scripts/smoothdesk-focus"
COMPILERS = ("cc", "gcc", "gcc-12", "c89", "c99", "x86_64-linux-gnu-gcc", "x86_64-linux-gnu-gcc-12")
# A dry run: the helper in the root shares this machine's processes.
ADMIN_CONFIG = "[helper]\ndry_run = true\n[rules]\nananicy_dirs = []\n"


@pytest.fixture(scope="module")
def deb() -> Path:
    return debs.built_deb()


@pytest.fixture(scope="module")
def root(deb: Path) -> Iterator[debs.Root]:
    r = debs.Root()
    try:
        r.file("/tmp/smoothdesk.deb").write_bytes(deb.read_bytes())
        r.run("dpkg", "--install", "/tmp/smoothdesk.deb", timeout=900)
        r.file("/tmp/smoothdesk.deb").unlink()
        yield r
    finally:
        r.close()


def test_the_package_holds_the_sampler_and_the_integrations_and_suggests_their_tools(deb: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True)
    modes = {line.split()[5].removeprefix("."): line.split()[0] for line in listing.stdout.splitlines()}
    assert modes.get(SAMPLER) == "-rwxr-xr-x", modes.get(SAMPLER)
    for path in ("extension.js", "metadata.json"):
        assert modes.get(f"{EXTENSION}/{path}") == "-rw-r--r--", path
    for path in ("metadata.json", "contents/code/main.js"):
        assert modes.get(f"{KWIN}/{path}") == "-rw-r--r--", path
    suggests = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Suggests"], capture_output=True, text=True, check=True
    )
    assert {s.strip() for s in suggests.stdout.split(",")} >= {
        "gnome-shell-extension-appindicator",
        "kpackagetool5",
    }


def test_the_sampler_is_built_with_debians_hardening_and_runs(root: debs.Root) -> None:
    # What hardening-check (devscripts) reads, with binutils' readelf, which gcc brings.
    elf = root.run("readelf", "-h", "-l", "-d", "-S", "--dyn-syms", "-W", SAMPLER).stdout
    assert "DYN (Position-Independent Executable file)" in elf and "Flags: NOW PIE" in elf  # pie, bindnow
    assert "GNU_RELRO" in elf and "(FLAGS)              BIND_NOW" in elf  # relro
    assert "__stack_chk_fail" in elf  # -fstack-protector-strong
    assert ".symtab" not in elf and ".debug_" not in elf  # stripped (dh_strip, no -dbgsym)
    # Its protocol: argv interval and parent; native uint32 lateness samples on stdout; EOF ends it.
    proc = subprocess.Popen(
        [str(root.file(SAMPLER)), "2000000", str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    first = proc.stdout.read(4)
    assert len(first) == 4
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    proc.stdout.close()


def test_the_installed_helper_runs_the_packaged_sampler_without_a_compiler(root: debs.Root) -> None:
    for name in COMPILERS:  # the overlay hides them from the root (whiteouts), not from the host
        target = root.file(f"/usr/bin/{name}")
        if target.exists() or target.is_symlink():
            target.unlink()
    assert root.run("sh", "-c", "command -v cc || command -v gcc", check=False).returncode != 0
    root.file("/etc/smoothdesk/config.toml").write_text(ADMIN_CONFIG)
    bus_dir = root.file("/tmp/sd-sysbus")
    bus_dir.mkdir(mode=0o755)
    socket = "/tmp/sd-sysbus/bus"
    (bus_dir / "bus.conf").write_text(system_bus_config(Path(socket), Path("/usr/share/dbus-1/system.d")))
    env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={socket}"}
    daemon = root.popen("dbus-daemon", "--config-file=/tmp/sd-sysbus/bus.conf", "--nofork", "--print-address")
    helper = None
    try:
        assert daemon.stdout is not None and daemon.stdout.readline().startswith("unix:")
        helper = root.popen("/usr/bin/smoothdesk-helper", "--bus", "system", env=env)
        probe = _probe_finding(root, env, helper)
        assert probe["status"] == "ok", probe
        found = re.search(r"sampler pid (\d+)", probe["summary"])
        assert found, probe
        exe = os.readlink(f"/proc/{found.group(1)}/exe")
        assert exe == str(root.file(SAMPLER)), exe  # the packaged binary, not a build of sampler.c
        # Nothing was compiled: no cache written in the root's layer (this machine's own may exist).
        assert [c for c in root.changes() if re.match(r"var/cache/smoothdesk|tmp/smoothdesk-", c)] == []
    finally:
        if helper is not None:
            helper.send_signal(signal.SIGTERM)
            _, err = helper.communicate(timeout=60)
            assert helper.returncode == 0, err
        daemon.terminate()
        daemon.communicate(timeout=30)
        for path in sorted(bus_dir.rglob("*"), reverse=True):
            path.unlink()
        bus_dir.rmdir()


def _probe_finding(root: debs.Root, env: dict[str, str], helper: subprocess.Popen[str]) -> dict[str, str]:
    """The helper's 'latency probe' doctor line once it is on the bus and its sampler has started."""
    deadline = time.monotonic() + 120
    last: object = None
    while time.monotonic() < deadline:
        assert helper.poll() is None, helper.communicate()
        done = root.run("/usr/bin/smoothdeskctl", "--bus", "system", "--json", "doctor", "--helper",
                        env=env, check=False, timeout=60)  # fmt: skip
        try:
            findings = json.loads(done.stdout)
        except ValueError:
            last = done.stderr
        else:
            probe = [f for f in findings if f["key"] == "latency probe"]
            if probe and "sampler pid" in probe[0]["summary"]:
                return dict(probe[0])
            last = probe or findings
        time.sleep(1)
    raise AssertionError(f"no latency probe finding: {last}")


def test_the_focus_integrations_are_what_the_tree_builds(root: debs.Root, tmp_path: Path) -> None:
    ext = root.file(EXTENSION)
    metadata = json.loads((ext / "metadata.json").read_text())
    assert metadata["uuid"] == ext.name and metadata["name"] and metadata["description"]
    assert metadata["shell-version"] == ["43", "44"]  # bookworm's GNOME 43: the legacy-imports form
    built = build_extension(tmp_path, 43)
    for name in ("extension.js", "metadata.json"):
        assert (ext / name).read_bytes() == (built / name).read_bytes(), name
    assert MARKER not in (ext / "extension.js").read_text()
    kwin = root.file(KWIN)
    meta = json.loads((kwin / "metadata.json").read_text())
    assert meta["KPlugin"]["Id"] == kwin.name and meta["KPackageStructure"] == "KWin/Script"
    assert (kwin / "contents" / meta["X-Plasma-MainScript"]).is_file()
    source = REPO / "resources/kwin/smoothdesk-focus"
    for name in ("metadata.json", "contents/code/main.js"):
        assert (kwin / name).read_bytes() == (source / name).read_bytes(), name


def test_the_units_exec_stop_post_is_a_recovery_only_run(root: debs.Root) -> None:
    unit = root.file("/lib/systemd/system/smoothdesk-helper.service").read_text()
    (line,) = [x for x in unit.splitlines() if x.startswith("ExecStopPost=")]
    argv = line.removeprefix("ExecStopPost=").split()
    assert argv == ["/usr/bin/smoothdesk-helper", "--recover"]
    assert root.file("/run/smoothdesk").is_dir() and not root.file("/run/smoothdesk/journal.json").exists()
    done = root.run(*argv, timeout=120)
    assert "no journal in /run/smoothdesk, nothing to do" in done.stderr, done.stderr


def test_purge_removes_a_sampler_cache_and_every_installed_integration(root: debs.Root) -> None:
    # What a root helper builds when the packaged sampler is missing (telemetry/sampler.py).
    cache = root.file("/var/cache/smoothdesk")
    cache.mkdir(mode=0o700, exist_ok=True)
    (cache / "smoothdesk-sampler-0123456789abcdef").write_bytes(b"\x7fELF")
    root.run("dpkg", "--purge", "smoothdesk")
    for gone in ("/var/cache/smoothdesk", "/usr/libexec/smoothdesk", EXTENSION, KWIN):
        assert not root.file(gone).exists(), gone
