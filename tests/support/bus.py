"""A private dbus-daemon per test: the real daemon with a permissive session-like policy."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


# The default policy of Debian's /usr/share/dbus-1/system.conf: deny owning and calling, allow
# replies, signals and the bus daemon itself. Services open themselves up in system.d files.
SYSTEM_DEFAULT_POLICY = """  <policy context="default">
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
  </policy>
"""


def system_bus_config(socket: Path, policies: Path, *, services: Path | None = None, extra: str = "") -> str:
    """A system-like bus config: Debian's default policy, `extra` policies, then `policies`/*.conf."""
    servicedir = f"  <servicedir>{services}</servicedir>\n" if services is not None else ""
    return (
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        "<busconfig>\n  <type>system</type>\n"
        f"  <listen>unix:path={socket}</listen>\n  <auth>EXTERNAL</auth>\n{servicedir}"
        f"{SYSTEM_DEFAULT_POLICY}{extra}  <includedir>{policies}</includedir>\n</busconfig>\n"
    )


@contextmanager
def private_bus() -> Iterator[str]:
    """Yield the address of a fresh dbus-daemon that any local uid may connect to."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        raise RuntimeError("dbus-daemon is not installed (make test installs it with apt)")
    tmp = Path(tempfile.mkdtemp(prefix="sd-bus-"))
    tmp.chmod(0o755)
    socket = tmp / "bus"
    config = tmp / "bus.conf"
    config.write_text(CONFIG.format(socket=socket), encoding="utf-8")
    proc = subprocess.Popen(
        [daemon, f"--config-file={config}", "--nofork", "--print-address"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon did not print an address")
        os.chmod(socket, 0o777)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # never left running, even by a wedged daemon
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


class RestartableBus:
    """A dbus-daemon on a fixed socket path that a test can pause, kill and start again.

    `config` is a template with `{socket}`: the permissive CONFIG by default, or a system-like
    one (tests.support.polkit). The address stays the same across restarts, as the system bus's
    does when systemd restarts dbus-daemon.
    """

    def __init__(self, config: str = CONFIG) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sd-rbus-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.socket = self.dir / "bus"
        self.config = self.dir / "bus.conf"
        self.config.write_text(config.format(socket=self.socket), encoding="utf-8")
        self.address = f"unix:path={self.socket}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> str:
        self.socket.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={self.config}", "--nofork", "--print-address"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline().strip():
            raise RuntimeError("dbus-daemon did not print an address")
        os.chmod(self.socket, 0o777)
        return self.address

    def kill(self) -> None:
        """SIGKILL: every connection drops at once, as in a crash of the bus daemon."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None

    def restart(self) -> str:
        self.kill()
        return self.start()

    def close(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RestartableBus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
