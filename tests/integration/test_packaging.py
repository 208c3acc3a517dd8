"""The packaging tree: the systemd unit, the D-Bus policy and activation file, and install.sh
(test_packaging_files.py: the exporter drop-in, the desktop files, the wheel, the make targets)."""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.config import vendor
from smoothdesk.config.loader import apply_file
from smoothdesk.config.schema import OPTIONS, TABLE_ARRAYS, defaults
from smoothdesk.dbus.names import BUS_NAME, INTERFACE, OBJECT_PATH
from tests.support.bus import system_bus_config
from tests.support.users import REPO, drop_to_nobody, unprivileged_python

PKG = REPO / "packaging"
UNIT = PKG / "systemd/system/smoothdesk-helper.service"
BUS_POLICY = PKG / "dbus/system.d/org.smoothdesk.Helper1.conf"
ACTIVATION = PKG / "dbus/system-services/org.smoothdesk.Helper1.service"
TMPFILES = PKG / "tmpfiles.d/smoothdesk.conf"
VENDOR_CONFIG = PKG / "share/smoothdesk/config.toml"
INSTALL_SH = REPO / "scripts/install.sh"

# packaging/ (or resources/) directory -> where install.sh puts its files, relative to PREFIX
# ("@etc" is /etc for PREFIX /usr, PREFIX/etc otherwise).
INSTALL_MAP = {
    "packaging/systemd/system": "lib/systemd/system",
    "packaging/systemd/system/smoothdesk-helper.service.d": "lib/systemd/system/smoothdesk-helper.service.d",
    "packaging/dbus/system.d": "share/dbus-1/system.d",
    "packaging/dbus/system-services": "share/dbus-1/system-services",
    "packaging/dbus/interfaces": "share/dbus-1/interfaces",
    "packaging/polkit/actions": "share/polkit-1/actions",
    "packaging/polkit/rules.d": "share/polkit-1/rules.d",
    "packaging/tmpfiles.d": "lib/tmpfiles.d",
    "packaging/share/smoothdesk": "share/smoothdesk",
    "resources/rules.d": "share/smoothdesk/rules.d",
    "resources/model": "share/smoothdesk/model",
    "resources/icons": "share/smoothdesk/icons",
    "packaging/etc/smoothdesk": "@etc/smoothdesk",
    "packaging/desktop": "share/applications",
    "packaging/icons/hicolor/scalable/apps": "share/icons/hicolor/scalable/apps",
    "packaging/metainfo": "share/metainfo",
}
# The tray's autostart toggle writes its own entry (gui/autostart.py); this one is its model only.
NOT_INSTALLED = {PKG / "desktop/smoothdesk-autostart.desktop"}


def _unit_settings(text: str) -> dict[str, list[str]]:
    """Key -> values of a unit file, ignoring comments (systemd allows repeated keys)."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def _public_tmpdir(prefix: str) -> Path:
    """A directory nobody can enter (pytest's tmp_path lives under /tmp/pytest-of-root, 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


# ---------------------------------------------------------------------------------------- systemd


def _verify(unit_text: str) -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify, offline, on a copy whose ExecStart points at an existing stub.

    PID 1 is not systemd on every test machine, so verify runs on the file alone; the only
    thing it would rightly reject is the not-yet-installed /usr/bin/smoothdesk-helper.
    """
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt: systemd)")
    with tempfile.TemporaryDirectory(prefix="sd-unit-") as tmp:
        stub = Path(tmp) / "smoothdesk-helper"
        stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
        stub.chmod(0o755)
        unit = Path(tmp) / UNIT.name
        unit.write_text(unit_text.replace("/usr/bin/smoothdesk-helper", str(stub)), encoding="utf-8")
        return subprocess.run(
            [tool, "verify", "--man=no", "--generators=no", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _findings(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if "smoothdesk" in line]


def test_systemd_verify_accepts_the_unit_without_a_warning() -> None:
    result = _verify(UNIT.read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _findings(result) == []


def test_systemd_verify_would_report_a_mistake() -> None:
    """The check above can fail: a misspelt key and an unknown syscall group are reported."""
    broken = UNIT.read_text(encoding="utf-8")
    broken = broken.replace("NoNewPrivileges=", "NoNewPrivilegez=")
    broken = broken.replace("SystemCallFilter=@system-service", "SystemCallFilter=@no-such-group")
    findings = "\n".join(_findings(_verify(broken)))
    assert "NoNewPrivilegez" in findings
    assert "@no-such-group" in findings


def test_unit_is_a_dbus_service_with_the_agreed_hardening() -> None:
    s = _unit_settings(UNIT.read_text(encoding="utf-8"))
    expected = {
        "Type": ["dbus"],
        "BusName": [BUS_NAME],
        "ExecStart": ["/usr/bin/smoothdesk-helper --bus system"],
        "Restart": ["on-failure"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ReadWritePaths": ["/sys/fs/cgroup", "-/etc/smoothdesk/rules.d"],
        "RuntimeDirectory": ["smoothdesk"],
        "RuntimeDirectoryMode": ["0755"],
        "StateDirectory": ["smoothdesk"],
        "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"],
        "RestrictAddressFamilies": ["AF_UNIX AF_NETLINK"],
        "MemoryMax": ["128M"],
        "SystemCallFilter": ["@system-service"],
        "SystemCallArchitectures": ["native"],
        "MemoryDenyWriteExecute": ["yes"],
        "ProtectControlGroups": ["no"],
        "ProtectKernelTunables": ["yes"],
        "WantedBy": ["multi-user.target"],
        "Alias": [f"dbus-{BUS_NAME}.service"],
    }
    for key, value in expected.items():
        assert s.get(key) == value, key
    assert set(s["CapabilityBoundingSet"][0].split()) == {
        "CAP_SYS_NICE",
        "CAP_DAC_OVERRIDE",
        "CAP_SYS_PTRACE",
        "CAP_NET_ADMIN",
    }
    assert s["AmbientCapabilities"] == [""]
    # It must see every process: hiding other users' /proc entries would blind the collector.
    assert s.get("ProtectProc", ["default"]) == ["default"]
    assert s.get("ProcSubset", ["all"]) == ["all"]


def test_every_capability_in_the_bounding_set_has_its_reason_written_down() -> None:
    text = UNIT.read_text(encoding="utf-8")
    caps = _unit_settings(text)["CapabilityBoundingSet"][0].split()
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    for cap in caps:
        assert re.search(rf"^#\s+{cap}\s+\S", comments, re.MULTILINE), cap


def test_the_system_call_filter_allows_every_priority_syscall_the_actuator_makes() -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt: systemd)")
    listing = subprocess.run(
        [tool, "syscall-filter", "--no-pager"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    allowed = _expand_group(listing, "@system-service")
    for call in ("setpriority", "sched_setscheduler", "sched_setattr", "ioprio_set", "ioprio_get"):
        assert call in allowed, call
    assert "ptrace" not in allowed  # CAP_SYS_PTRACE is for reading /proc/PID/io, not for ptrace(2)


def _expand_group(listing: str, group: str, seen: set[str] | None = None) -> set[str]:
    """The system calls of a filter group, following nested @groups, from `syscall-filter`."""
    seen = set() if seen is None else seen
    seen.add(group)
    members: set[str] = set()
    block = re.search(rf"^{re.escape(group)}\n(.*?)(?:\n\n|\Z)", listing, re.MULTILINE | re.DOTALL)
    assert block is not None, f"{group} is not listed"
    for raw in block.group(1).splitlines():
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        if item.startswith("@"):
            if item not in seen:
                members |= _expand_group(listing, item, seen)
        else:
            members.add(item)
    return members


def test_systemd_security_rates_the_unit_well() -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt: systemd)")
    with tempfile.TemporaryDirectory(prefix="sd-unit-") as tmp:
        unit = Path(tmp) / UNIT.name
        unit.write_text(UNIT.read_text(encoding="utf-8").replace("/usr/bin/smoothdesk-helper", "/bin/true"))
        result = subprocess.run(
            [tool, "security", "--offline=yes", "--threshold=35", "--no-pager", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert score is not None and float(score.group(1)) <= 3.5


def test_the_helper_runs_without_writable_executable_memory() -> None:
    """MemoryDenyWriteExecute=yes holds: one tick under the kernel's own W^X (PR_SET_MDWE)."""
    script = textwrap.dedent(
        """
        import ctypes, mmap, sys
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
            sys.exit(77)
        try:
            mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            sys.exit("PR_SET_MDWE did not refuse a W+X mapping")
        except PermissionError:
            pass
        from smoothdesk.helper.main import main
        sys.exit(main(["--once", "--json", "--run-dir", sys.argv[1]]))
        """
    )
    with tempfile.TemporaryDirectory(prefix="sd-run-") as run_dir:
        result = subprocess.run(
            [sys.executable, "-c", script, run_dir],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=REPO,
            check=False,
        )
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["decisions"]


# ----------------------------------------------------------------------------- the other files


def test_activation_file_hands_the_name_to_the_unit() -> None:
    lines = ACTIVATION.read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if line and not line.startswith("#")]
    assert body == [
        "[D-BUS Service]",
        f"Name={BUS_NAME}",
        "Exec=/usr/bin/smoothdesk-helper --bus system",
        "User=root",
        f"SystemdService={UNIT.name}",
    ]


def test_tmpfiles_creates_the_run_directory() -> None:
    rules = [line.split() for line in TMPFILES.read_text().splitlines() if line and line[0] != "#"]
    assert rules == [
        ["d", "/run/smoothdesk", "0755", "root", "root", "-"],
        ["d", "/etc/smoothdesk/rules.d", "0755", "root", "root", "-"],
    ]


def test_vendor_config_lists_every_option_commented_with_its_default() -> None:
    text = VENDOR_CONFIG.read_text(encoding="utf-8")
    # Everything is commented out, so the schema's defaults apply and there is one source of truth.
    assert all(table == {} for table in tomllib.loads(text).values())
    data = tomllib.loads(uncomment(text))
    expected: dict[str, object] = {}
    for opt in OPTIONS:
        if opt.section in TABLE_ARRAYS:  # [[slo]] tables: the list itself, one table per entry
            fields = [f.key for f in TABLE_ARRAYS[opt.section][1]]
            expected[opt.section] = [{k: e[k] for k in fields if k in e} for e in opt.default]
        else:
            expected.setdefault(opt.section, {})[opt.key] = opt.default  # type: ignore[index]
    assert data == expected
    for opt in OPTIONS:
        if opt.section in TABLE_ARRAYS:
            continue
        # The line before each option is the end of its description.
        before = text.split(f"\n#{opt.key} = ", 1)[0].splitlines()[-1]
        assert before.startswith("# "), opt.key
    assert text == vendor.render(), "regenerate: python -m smoothdesk.config.vendor > " + str(VENDOR_CONFIG)


def uncomment(text: str) -> str:
    return re.sub(r"^#(?=[a-z0-9_]+ = |\[\[)", "", text, flags=re.MULTILINE)


def test_vendor_config_uncommented_is_accepted_by_the_loader(tmp_path: Path) -> None:
    uncommented = uncomment(VENDOR_CONFIG.read_text(encoding="utf-8"))
    path = tmp_path / "config.toml"
    path.write_text(uncommented, encoding="utf-8")
    settings = defaults()
    apply_file(settings, path)

    def sourceless(values: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
        # An [[slo]] entry remembers the file:line it came from; everything else must be equal.
        slo = [{k: v for k, v in e.items() if k != "source"} for e in values["slo"]["objectives"]]  # type: ignore[attr-defined]
        return {**values, "slo": {"objectives": slo}}

    assert sourceless(settings.values) == sourceless(defaults().values)


# ---------------------------------------------------------------------------------------- D-Bus

# Owns the name (or tries to) and serves one method on our interface and one on another.
OWNER = """
import asyncio, sys
from dbus_fast import RequestNameReply
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method

class Ours(ServiceInterface):
    @method()
    def Echo(self, text: "s") -> "s":
        return text

async def main():
    bus = await MessageBus(bus_address=sys.argv[1]).connect()
    bus.export(sys.argv[3], Ours(sys.argv[4]))
    bus.export(sys.argv[3], Ours("org.smoothdesk.NotInThePolicy"))
    try:
        reply = await bus.request_name(sys.argv[2])
    except Exception as exc:
        print("denied:" + type(exc).__name__ + ":" + str(exc), flush=True)
        return
    print("owned" if reply == RequestNameReply.PRIMARY_OWNER else f"reply:{reply}", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

# Calls the destination on every interface the policy names, and one it does not.
CALLER = """
import asyncio, json, sys
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

async def main():
    bus = await MessageBus(bus_address=sys.argv[1]).connect()
    dest, path, iface = sys.argv[2], sys.argv[3], sys.argv[4]
    calls = {
        "ours": (iface, "Echo", "s", ["hi"]),
        "introspect": ("org.freedesktop.DBus.Introspectable", "Introspect", "", []),
        "peer": ("org.freedesktop.DBus.Peer", "Ping", "", []),
        "properties": ("org.freedesktop.DBus.Properties", "GetAll", "s", [iface]),
        "other": ("org.smoothdesk.NotInThePolicy", "Echo", "s", ["hi"]),
    }
    out = {}
    for label, (interface, member, sig, body) in calls.items():
        reply = await bus.call(Message(destination=dest, path=path, interface=interface,
                                       member=member, signature=sig, body=body))
        out[label] = reply.error_name if reply.message_type == MessageType.ERROR else "ok"
    print(json.dumps(out), flush=True)

asyncio.run(main())
"""


class PolicyBus:
    """A private system-like dbus-daemon that includes a directory of policy files."""

    def __init__(self, include_ours: bool) -> None:
        self.dir = _public_tmpdir("sd-sysbus-")
        policies = self.dir / "system.d"
        services = self.dir / "system-services"
        policies.mkdir(mode=0o755)
        services.mkdir(mode=0o755)
        if include_ours:
            shutil.copy(BUS_POLICY, policies)
            shutil.copy(ACTIVATION, services)
        self.children: list[subprocess.Popen[str]] = []
        self.stderr = ""
        self.socket = self.dir / "bus"
        config = self.dir / "bus.conf"
        config.write_text(system_bus_config(self.socket, policies, services=services), encoding="utf-8")
        daemon = shutil.which("dbus-daemon")
        if daemon is None:
            raise RuntimeError("dbus-daemon is not installed (make test installs it with apt)")
        self.proc = subprocess.Popen(
            [daemon, f"--config-file={config}", "--nofork", "--print-address"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            self.close()
            raise AssertionError(f"dbus-daemon refused the configuration: {self.stderr}")
        self.socket.chmod(0o777)

    def owner(self, *, as_nobody: bool) -> tuple[subprocess.Popen[str], str]:
        """Start a connection that tries to own the name; return it and its verdict line."""
        exe, env = unprivileged_python() if as_nobody else (sys.executable, dict(os.environ))
        proc = subprocess.Popen(
            [exe, "-c", OWNER, self.address, BUS_NAME, OBJECT_PATH, INTERFACE],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd="/",
            preexec_fn=drop_to_nobody if as_nobody else None,
        )
        self.children.append(proc)
        assert proc.stdout is not None
        return proc, proc.stdout.readline().strip()

    def call_as_nobody(self) -> dict[str, str]:
        exe, env = unprivileged_python()
        result = subprocess.run(
            [exe, "-c", CALLER, self.address, BUS_NAME, OBJECT_PATH, INTERFACE],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            preexec_fn=drop_to_nobody,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return dict(json.loads(result.stdout))

    def activatable(self) -> list[str]:
        result = subprocess.run(
            [
                "dbus-send",
                f"--bus={self.address}",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ListActivatableNames",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return re.findall(r'string "([^"]+)"', result.stdout)

    def close(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)
            if child.stdout is not None:
                child.stdout.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        _, self.stderr = self.proc.communicate(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def policy_bus() -> Iterator[PolicyBus]:
    bus = PolicyBus(include_ours=True)
    yield bus
    bus.close()


@pytest.fixture
def bare_bus() -> Iterator[PolicyBus]:
    bus = PolicyBus(include_ours=False)
    yield bus
    bus.close()


@pytest.mark.root
def test_only_root_may_own_the_name_and_everyone_may_call_its_interfaces(policy_bus: PolicyBus) -> None:
    _, verdict = policy_bus.owner(as_nobody=True)
    assert verdict.startswith("denied:"), verdict
    assert "AccessDenied" in verdict or "not allowed to own" in verdict, verdict

    _, verdict = policy_bus.owner(as_nobody=False)
    assert verdict == "owned"

    assert policy_bus.call_as_nobody() == {
        "ours": "ok",
        "introspect": "ok",
        "peer": "ok",
        "properties": "ok",
        "other": "org.freedesktop.DBus.Error.AccessDenied",
    }


@pytest.mark.root
def test_without_our_policy_even_root_cannot_own_the_name(bare_bus: PolicyBus) -> None:
    """The control: the system-like default policy denies, so the grant above is our file's."""
    _, verdict = bare_bus.owner(as_nobody=False)
    assert verdict.startswith("denied:"), verdict


def test_dbus_daemon_loads_the_activation_file(policy_bus: PolicyBus) -> None:
    assert BUS_NAME in policy_bus.activatable()


def test_bus_policy_grants_nothing_beyond_the_name_and_its_interfaces() -> None:
    text = re.sub(r"<!--.*?-->", "", BUS_POLICY.read_text(encoding="utf-8"), flags=re.DOTALL)
    rules = re.findall(r"<(allow|deny)\s([^>]*?)/>", text, re.DOTALL)
    allowed = {" ".join(attrs.split()) for kind, attrs in rules if kind == "allow"}
    assert allowed == {
        f'own="{BUS_NAME}"',
        *(
            f'send_destination="{BUS_NAME}" send_interface="{iface}"'
            for iface in (
                INTERFACE,
                "org.freedesktop.DBus.Introspectable",
                "org.freedesktop.DBus.Peer",
                "org.freedesktop.DBus.Properties",
            )
        ),
    }
    assert re.search(r'<policy user="root">\s*<allow own="' + re.escape(BUS_NAME) + r'"/>\s*</policy>', text)


# -------------------------------------------------------------------------------------- install


def _run_install(destdir: Path, prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(INSTALL_SH), str(destdir), prefix],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def _expected_files(prefix: str) -> dict[Path, Path]:
    """Installed path (relative to DESTDIR) -> source file, for everything install.sh ships."""
    out: dict[Path, Path] = {}
    etc = "etc" if prefix == "/usr" else prefix.lstrip("/") + "/etc"
    for src_dir, dest_dir in INSTALL_MAP.items():
        src = REPO / src_dir
        if not src.is_dir():
            continue
        base = (
            Path(dest_dir.replace("@etc", etc))
            if dest_dir.startswith("@etc")
            else Path(prefix.lstrip("/")) / dest_dir
        )
        for f in sorted(src.iterdir()):
            if f.is_file() and f not in NOT_INSTALLED:
                out[base / f.name] = f
    return out


def test_install_puts_every_file_at_its_path_unchanged(tmp_path: Path) -> None:
    result = _run_install(tmp_path, "/usr")
    expected = _expected_files("/usr")
    installed = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert installed == set(expected)
    for rel, src in expected.items():
        dest = tmp_path / rel
        assert filecmp.cmp(src, dest, shallow=False), rel
        assert dest.stat().st_mode & 0o7777 == 0o644, rel
        assert f"installed {dest}" in result.stdout
    # The fixed paths a distribution expects, spelt out.
    for fixed in (
        "usr/lib/systemd/system/smoothdesk-helper.service",
        "usr/share/dbus-1/system.d/org.smoothdesk.Helper1.conf",
        "usr/share/dbus-1/system-services/org.smoothdesk.Helper1.service",
        "usr/lib/tmpfiles.d/smoothdesk.conf",
        "usr/share/smoothdesk/config.toml",
        "usr/share/smoothdesk/rules.d/10-build.toml",
    ):
        assert (tmp_path / fixed).is_file(), fixed


def test_every_file_under_packaging_is_installed_or_not_ours(tmp_path: Path) -> None:
    """A new packaging file with no install rule is caught here."""
    mapped = {REPO / d for d in INSTALL_MAP}
    for f in PKG.rglob("*"):
        if not f.is_file() or f in NOT_INSTALLED:
            continue
        assert f.parent in mapped, f"{f.relative_to(REPO)} has no install rule"


def test_install_with_another_prefix_points_the_unit_at_that_prefix(tmp_path: Path) -> None:
    _run_install(tmp_path, "/usr/local")
    unit = tmp_path / "usr/local/lib/systemd/system/smoothdesk-helper.service"
    settings = _unit_settings(unit.read_text())
    assert settings["ExecStart"] == ["/usr/local/bin/smoothdesk-helper --bus system"]
    assert settings["ExecStopPost"] == ["/usr/local/bin/smoothdesk-helper --recover"]
    assert (tmp_path / "usr/local/share/smoothdesk/config.toml").is_file()
    assert (tmp_path / "usr/local/etc/smoothdesk/config.toml").is_file()
    assert not (tmp_path / "usr/lib").exists()
    assert not (tmp_path / "etc").exists()


def test_install_puts_units_where_the_distribution_wants_them(tmp_path: Path) -> None:
    """debian/rules installs with SYSTEMD_UNIT_DIR=/lib/systemd/system (Debian 12's unit directory)."""
    subprocess.run(
        ["sh", str(INSTALL_SH), str(tmp_path), "/usr"],
        env={**os.environ, "SYSTEMD_UNIT_DIR": "/lib/systemd/system"},
        capture_output=True,
        check=True,
    )
    assert (tmp_path / "lib/systemd/system/smoothdesk-helper.service").is_file()
    assert (tmp_path / "lib/systemd/system/smoothdesk-helper.service.d/exporter-loopback.conf").is_file()
    assert not (tmp_path / "usr/lib/systemd").exists()
    assert (tmp_path / "usr/lib/tmpfiles.d/smoothdesk.conf").is_file()
