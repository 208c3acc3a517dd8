"""A private PulseAudio server for tests: a null sink, clients that play, role-based corking.

    with pulse_server() as pa:          # pa.server == "unix:/tmp/.../native"; pa.env for clients
        music = pa.play("music")        # pacat from /dev/zero with media.role=music
        phone = pa.play("phone")        # module-role-cork corks the music stream while this plays
        pa.crash(); pa.start_again()    # SIGKILL, then a new daemon on the same socket

The daemon runs as the current user, root included: it warns that it is not meant to run as
root but works without --system when given its own runtime dir, HOME and a socket path of ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.procs import terminate


def missing_tools() -> list[str]:
    return [t for t in ("pulseaudio", "pacat", "pactl") if shutil.which(t) is None]


@dataclass
class PulseServer:
    dir: Path
    proc: subprocess.Popen[bytes]
    clients: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.dir / "native"

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PULSE_SERVER=self.server,
            PULSE_RUNTIME_PATH=str(self.dir / "runtime"),
            XDG_RUNTIME_DIR=str(self.dir / "xdg"),
            HOME=str(self.dir / "home"),
        )
        return env

    def play(self, role: str = "music", name: str = "sd-test-player") -> subprocess.Popen[bytes]:
        """A real client playing silence forever, in its own process group; stopped at teardown."""
        env = {**self.env, "PULSE_PROP": f"media.role={role}"}
        proc = subprocess.Popen(
            ["pacat", "--playback", f"--client-name={name}", "/dev/zero"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        self.clients.append(proc)
        return proc

    def pactl(self, *args: str) -> str:
        out = subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=30, check=True
        )
        return out.stdout

    def log(self) -> str:
        return (self.dir / "pulseaudio.log").read_text(errors="replace")

    def crash(self) -> None:
        """SIGKILL the daemon, as a crash would: its clients lose their connection."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def start_again(self, timeout: float = 20.0) -> None:
        """A new daemon on the same socket, as a restart by the session would bring."""
        if self.proc.poll() is None:
            raise RuntimeError("pulseaudio is still running")
        self.socket.unlink(missing_ok=True)  # a killed daemon leaves its socket behind
        self.proc = _spawn(self.dir, timeout)


@contextmanager
def pulse_server(timeout: float = 20.0) -> Iterator[PulseServer]:
    """A PulseAudio daemon with only a null sink (the default), a unix socket and role-cork."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"missing: {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils)")
    tmp = Path(tempfile.mkdtemp(prefix="sd-pulse-"))
    for sub in ("runtime", "xdg", "home"):
        (tmp / sub).mkdir(mode=0o700)
    server: PulseServer | None = None
    try:
        server = PulseServer(tmp, _spawn(tmp, timeout))
        yield server
    finally:
        if server is not None:
            for client in server.clients:
                terminate(client)
            terminate(server.proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _spawn(tmp: Path, timeout: float) -> subprocess.Popen[bytes]:
    socket = tmp / "native"
    argv = [
        "pulseaudio", "--daemonize=no", "-n", "--use-pid-file=no", "--exit-idle-time=-1",
        "--disallow-exit", "--disable-shm=yes", "--log-target=stderr",
        "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1",
        "-L", "module-null-sink sink_name=sd_null",
        "-L", "module-role-cork trigger_roles=phone cork_roles=music",
    ]  # fmt: skip
    with (tmp / "pulseaudio.log").open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log)
    probe = PulseServer(tmp, proc)
    deadline = time.monotonic() + timeout
    while not _answers(probe):
        if proc.poll() is not None or time.monotonic() > deadline:
            terminate(proc)
            raise RuntimeError(f"pulseaudio did not start:\n{probe.log()}")
        time.sleep(0.1)
    return proc


def _answers(server: PulseServer) -> bool:
    if not server.socket.exists():
        return False
    done = subprocess.run(["pactl", "info"], env=server.env, capture_output=True, timeout=10, check=False)
    return done.returncode == 0
