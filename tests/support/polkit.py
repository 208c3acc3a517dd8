"""The real polkitd on a private system-like dbus-daemon, with the project's actions installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.support.users import REPO

POLKITD = Path("/usr/lib/polkit-1/polkitd")
ACTIONS_DIR = Path("/usr/share/polkit-1/actions")
POLICY = REPO / "packaging/polkit/actions/org.smoothdesk.policy"
BUS_POLICY = REPO / "packaging/dbus/system.d/org.smoothdesk.Helper1.conf"

# Modelled on /usr/share/dbus-1/system.conf and system.d/org.freedesktop.PolicyKit1.conf:
# deny by default, replies and signals allowed, root and polkitd (which drops to the polkitd
# user) own polkit, everyone may call it. What the helper may do comes from the project's own
# packaging/dbus/system.d policy, included as a distribution would install it.
CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy user="polkitd">
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow send_interface="org.freedesktop.PolicyKit1.AuthenticationAgent"/>
  </policy>
  <includedir>{policy_dir}</includedir>
</busconfig>
"""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def system_bus() -> Iterator[str]:
    """Yield the address of a private dbus-daemon with a system-bus policy, reachable by all."""
    tmp = Path(tempfile.mkdtemp(prefix="sd-sysbus-", dir="/tmp"))
    try:
        tmp.chmod(0o755)  # polkitd (uid polkitd) and nobody must reach the socket
        socket = tmp / "bus"
        config = tmp / "bus.conf"
        policy_dir = tmp / "system.d"
        policy_dir.mkdir()
        shutil.copy(BUS_POLICY, policy_dir)
        config.write_text(CONFIG.format(socket=socket, policy_dir=policy_dir), encoding="utf-8")
        with (tmp / "dbus.log").open("wb") as log:
            proc = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                stdout=subprocess.PIPE,
                stderr=log,
            )
        try:
            assert proc.stdout is not None
            address = proc.stdout.readline().decode().strip()
            if not address:
                raise RuntimeError("dbus-daemon did not print an address")
            socket.chmod(0o777)
            yield address
        finally:
            _stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def installed_policy(source: Path = POLICY) -> Iterator[Path]:
    """Put the .policy file where polkitd reads it; put back whatever was there afterwards."""
    target = ACTIONS_DIR / source.name
    backup = target.read_bytes() if target.exists() else None
    shutil.copyfile(source, target)
    try:
        yield target
    finally:
        if backup is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(backup)


def name_has_owner(address: str, name: str) -> bool:
    out = subprocess.run(
        ["dbus-send", f"--bus={address}", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return "boolean true" in out.stdout


@contextmanager
def polkitd(address: str, timeout: float = 15.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run the real polkitd against `address` (GDBus takes the system bus from the environment)."""
    env = {"DBUS_SYSTEM_BUS_ADDRESS": address, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [str(POLKITD), "--no-debug"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while not name_has_owner(address, "org.freedesktop.PolicyKit1"):
            if proc.poll() is not None:
                raise RuntimeError(f"polkitd exited with {proc.returncode} before taking its name")
            if time.monotonic() > deadline:
                raise RuntimeError("polkitd did not take org.freedesktop.PolicyKit1 in time")
            time.sleep(0.05)
        yield proc
    finally:
        _stop(proc)


@contextmanager
def polkit_system_bus() -> Iterator[str]:
    """A private system bus with the real polkitd serving the project's actions on it."""
    if not POLKITD.exists():
        raise RuntimeError(f"{POLKITD} is missing (apt-get install polkitd)")
    with ExitStack() as stack:
        address = stack.enter_context(system_bus())
        stack.enter_context(installed_policy())
        stack.enter_context(polkitd(address))
        yield address
