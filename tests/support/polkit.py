"""The real polkitd on a private system-like dbus-daemon, with the project's actions installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.support.bus import system_bus_config
from tests.support.procs import terminate
from tests.support.users import REPO

POLKITD = Path("/usr/lib/polkit-1/polkitd")
ACTIONS_DIR = Path("/usr/share/polkit-1/actions")
POLICY = REPO / "packaging/polkit/actions/org.smoothdesk.policy"
BUS_POLICY = REPO / "packaging/dbus/system.d/org.smoothdesk.Helper1.conf"

# polkitd's own policy (after system.d/org.freedesktop.PolicyKit1.conf): root and the polkitd user
# (it drops to it) own the name, everyone may call it. What the helper may do comes from the
# project's own packaging/dbus/system.d policy, included as a distribution would install it.
POLKIT_POLICY = """  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy user="polkitd">
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow send_interface="org.freedesktop.PolicyKit1.AuthenticationAgent"/>
  </policy>
"""


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
        config.write_text(system_bus_config(socket, policy_dir, extra=POLKIT_POLICY), encoding="utf-8")
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
            terminate(proc)
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
        terminate(proc)


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
