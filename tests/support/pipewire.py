"""A private PipeWire daemon for tests: a null sink that drives the graph on a timer, real players.

    with pipewire_server() as pw:      # pw.env has XDG_RUNTIME_DIR for clients
        player = pw.play("sd_player")  # pw-cat playing silence, linked to the null sink by hand
        pacat = pw.play_pulse("sd_pa") # pacat through PipeWire's own pulse server (pw.pulse_server)
        pw.crash(); pw.start_again()   # SIGKILL, then a new daemon in the same runtime dir

No session manager runs (WirePlumber wants a session bus and hardware): the fixture does its two jobs
itself, setting each node's port layout (PortConfig) and linking the player to the sink with pw-link.
The null sink is a driver with its own timer, so the graph runs without a sound card, and a player
that misses its cycles (SIGSTOP) gets real xruns counted by PipeWire's profiler.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.procs import terminate, wait_for

CONF = """
context.properties = { core.daemon = true core.name = pipewire-0 link.max-buffers = 16 }
context.spa-libs = { audio.convert.* = audioconvert/libspa-audioconvert support.* = support/libspa-support }
context.modules = [
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-profiler }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-access args = { } }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
    { name = libpipewire-module-protocol-pulse args = { server.address = [ "unix:@PULSE@" ] } }
]
context.objects = [
    { factory = metadata args = { metadata.name = default } }
    { factory = adapter args = { factory.name = support.null-audio-sink node.name = sd_null
        media.class = Audio/Sink audio.position = [ FL FR ] object.linger = true } }
]
"""
DSP = "mediaType: audio, mediaSubtype: raw, format: F32P, rate: 48000, channels: 2, position: [FL, FR]"
SINK = "sd_null"


def missing_tools() -> list[str]:
    return [t for t in ("pipewire", "pw-cli", "pw-cat", "pw-link", "pw-dump") if shutil.which(t) is None]


@dataclass
class PipeWireServer:
    dir: Path
    proc: subprocess.Popen[bytes]
    clients: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPEWIRE_", "PULSE_"))}
        env.update(XDG_RUNTIME_DIR=str(self.dir / "xdg"), HOME=str(self.dir / "home"))
        return env

    @property
    def socket(self) -> Path:
        return self.dir / "xdg" / "pipewire-0"

    @property
    def pulse_server(self) -> str:
        """The PulseAudio-protocol server this PipeWire runs itself (what pipewire-pulse does)."""
        return f"unix:{self.dir / 'pulse'}"

    def crash(self) -> None:
        """SIGKILL the daemon, as a crash would: every client loses its connection."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def start_again(self, timeout: float = 20.0) -> None:
        """A new daemon with the same config and runtime dir, as a restart by the session would bring."""
        if self.proc.poll() is None:
            raise RuntimeError("pipewire is still running")
        self.proc = _spawn(self.dir, timeout)

    def run(self, *argv: str) -> str:
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}\n{self.log()}")
        return done.stdout

    def dump(self) -> list[dict[str, Any]]:
        return list(json.loads(self.run("pw-dump", "-N")))

    def node_id(self, name: str) -> int | None:
        for obj in self.dump():
            props = (obj.get("info") or {}).get("props") or {}
            if obj.get("type") == "PipeWire:Interface:Node" and props.get("node.name") == name:
                return int(obj["id"])
        return None

    def node_id_safe(self, name: str) -> int | None:
        """node_id, or None while the daemon does not answer yet."""
        if not self.socket.exists():
            return None
        try:
            return self.node_id(name)
        except (RuntimeError, ValueError):
            return None

    def play(self, name: str = "sd_player", seconds: int = 120) -> subprocess.Popen[bytes]:
        """pw-cat playing `seconds` of silence into the null sink; stopped at teardown."""
        sound = self.dir / "silence.wav"
        if not sound.exists():
            with wave.open(str(sound), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(b"\0" * 16000 * seconds)
        proc = subprocess.Popen(
            ["pw-cat", "--playback", "--target", "0", "-P", f"{{ node.name={name} }}", str(sound)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        self.clients.append(proc)
        self.link(name)
        return proc

    def play_pulse(self, name: str) -> subprocess.Popen[bytes]:
        """pacat playing silence through the pulse protocol, its stream linked to the null sink."""
        env = {**self.env, "PULSE_SERVER": self.pulse_server, "PULSE_PROP": f"node.name={name}"}
        proc = subprocess.Popen(
            ["pacat", "--playback", f"--client-name={name}", "/dev/zero"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        self.clients.append(proc)
        self.link(name)
        return proc

    def link(self, name: str) -> None:
        """What a session manager would do: DSP ports on the node, then links to the sink."""
        assert wait_for(lambda: self.node_id(name) is not None, 20), f"no node {name}\n{self.log()}"
        node = self.node_id(name)
        self.run(
            "pw-cli",
            "set-param",
            str(node),
            "PortConfig",
            f"{{ direction: Output, mode: dsp, format: {{ {DSP} }} }}",
        )
        assert wait_for(lambda: f"{name}:output_FR" in self.run("pw-link", "-o"), 20), self.run(
            "pw-link", "-o"
        )
        for ch in ("FL", "FR"):
            self.run("pw-link", f"{name}:output_{ch}", f"{SINK}:playback_{ch}")

    def log(self) -> str:
        return (self.dir / "pipewire.log").read_text(errors="replace")


@contextmanager
def pipewire_server(timeout: float = 20.0) -> Iterator[PipeWireServer]:
    """A PipeWire daemon with a null sink (input ports set up), in a private runtime dir."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"missing: {', '.join(missing)} (apt-get install pipewire pipewire-bin)")
    tmp = Path(tempfile.mkdtemp(prefix="sd-pipewire-"))
    for sub in ("xdg", "home"):
        (tmp / sub).mkdir(mode=0o700)
    (tmp / "sd.conf").write_text(CONF.replace("@PULSE@", str(tmp / "pulse")))
    server: PipeWireServer | None = None
    try:
        server = PipeWireServer(tmp, _spawn(tmp, timeout))
        yield server
    finally:
        if server is not None:
            for client in server.clients:
                terminate(client)
            terminate(server.proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _spawn(tmp: Path, timeout: float) -> subprocess.Popen[bytes]:
    """pipewire on `tmp`'s config, serving once the null sink exists; its input ports set up."""
    with (tmp / "pipewire.log").open("ab") as log:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIPEWIRE_")}
        env.update(XDG_RUNTIME_DIR=str(tmp / "xdg"), HOME=str(tmp / "home"))
        proc = subprocess.Popen(["pipewire", "-c", str(tmp / "sd.conf")], stdout=log, stderr=log, env=env)
    server = PipeWireServer(tmp, proc)
    try:
        deadline = time.monotonic() + timeout
        while server.node_id_safe(SINK) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pipewire did not start:\n{server.log()}")
            time.sleep(0.1)
        sink = server.node_id(SINK)
        server.run(
            "pw-cli",
            "set-param",
            str(sink),
            "PortConfig",
            f"{{ direction: Input, mode: dsp, format: {{ {DSP} }} }}",
        )
    except BaseException:
        terminate(proc)
        raise
    return proc
