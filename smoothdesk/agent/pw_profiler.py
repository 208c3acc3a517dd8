"""`python -m smoothdesk.agent.pw_profiler`: PipeWire's per-node xrun counts as JSON lines.

PipeWire 0.3.65 (Debian 12) has no batch mode in pw-top and no pw-dump field for xruns: the counts
only travel in the profiler module's events. This child binds the profiler through libpipewire
(ctypes) and prints, at most once per interval and only when a count moved:

    {"source": "pipewire", "library": "0.3.65"}            once, when the profiler is bound
    {"nodes": [[node_id, name, pid, xruns], ...]}          cumulative counts per node; pid 0: unknown
    {"error": "..."}                                        then exits 1

It runs as a child process so that a libpipewire crash can never take the tray app with it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_uint32, c_void_p
from typing import Any

from smoothdesk.agent.pw_pod import PodError, XrunCounter

PROFILER = b"PipeWire:Interface:Profiler"
NODE, CLIENT = "PipeWire:Interface:Node", "PipeWire:Interface:Client"
EPIPE = 32


class Callbacks(ctypes.Structure):
    _fields_ = [("funcs", c_void_p), ("data", c_void_p)]


class Interface(ctypes.Structure):
    _fields_ = [("type", c_char_p), ("version", c_uint32), ("cb", Callbacks)]


class Hook(ctypes.Structure):
    _fields_ = [
        ("next", c_void_p),
        ("prev", c_void_p),
        ("cb", Callbacks),
        ("removed", c_void_p),
        ("priv", c_void_p),
    ]


class DictItem(ctypes.Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]


class Dict(ctypes.Structure):
    _fields_ = [("flags", c_uint32), ("n_items", c_uint32), ("items", POINTER(DictItem))]


ADD_LISTENER = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(Hook), c_void_p, c_void_p)
GET_REGISTRY = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_uint32, c_size_t)
BIND = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_uint32, c_char_p, c_uint32, c_size_t)
ON_GLOBAL = ctypes.CFUNCTYPE(None, c_void_p, c_uint32, c_uint32, c_char_p, c_uint32, POINTER(Dict))
ON_REMOVE = ctypes.CFUNCTYPE(None, c_void_p, c_uint32)
ON_PROFILE = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)
ON_ERROR = ctypes.CFUNCTYPE(None, c_void_p, c_uint32, c_int, c_int, c_char_p)


class CoreMethods(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("add_listener", ADD_LISTENER), ("hello", c_void_p),
                ("sync", c_void_p), ("pong", c_void_p), ("error", c_void_p),
                ("get_registry", GET_REGISTRY)]  # fmt: skip


class RegistryMethods(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("add_listener", ADD_LISTENER), ("bind", BIND)]


class ProfilerMethods(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("add_listener", ADD_LISTENER)]


class CoreEvents(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("info", c_void_p), ("done", c_void_p), ("ping", c_void_p),
                ("error", ON_ERROR), ("remove_id", c_void_p), ("bound_id", c_void_p), ("add_mem", c_void_p),
                ("remove_mem", c_void_p)]  # fmt: skip


class RegistryEvents(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("global_", ON_GLOBAL), ("global_remove", ON_REMOVE)]


class ProfilerEvents(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("profile", ON_PROFILE)]


def _methods(proxy: int, kind: type[ctypes.Structure]) -> tuple[Any, int]:
    """The method table and object of a proxy (what the spa_interface_call macros use)."""
    iface = ctypes.cast(proxy, POINTER(Interface)).contents
    return ctypes.cast(iface.cb.funcs, POINTER(kind)).contents, iface.cb.data or 0


def _props(props: Any) -> dict[str, str]:
    if not props:
        return {}
    d = props.contents
    return {
        (d.items[i].key or b"").decode(errors="replace"): (d.items[i].value or b"").decode(errors="replace")
        for i in range(d.n_items)
    }


def _pid(props: dict[str, str]) -> int:
    # The client's own claim first (a pipewire-pulse stream's app), else the socket's peer pid.
    for key in ("application.process.id", "pipewire.sec.pid"):
        value = props.get(key, "")
        if value.isdecimal() and int(value) > 0:
            return int(value)
    return 0


class Profiler:
    """Holds the connection; every callback runs in the PipeWire thread, under its lock."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.nodes: dict[int, tuple[str, str]] = {}  # node id -> (client id, name)
        self.clients: dict[int, int] = {}  # client id -> pid
        self.counter = XrunCounter()
        self.error = ""
        self.bound = False
        self.done = threading.Event()
        self._keep: list[Any] = []  # ctypes objects C holds pointers to
        self._profiler = 0
        self.events = 0
        self.capture: list[bytes] | None = None  # raw events kept for --capture

    def connect(self) -> None:
        lib = self.lib
        self.loop = lib.pw_thread_loop_new(b"smoothdesk-xruns", None)
        context = lib.pw_context_new(lib.pw_thread_loop_get_loop(self.loop), None, 0)
        # The client side needs the module too: it brings the profiler's protocol marshalling.
        if not lib.pw_context_load_module(context, b"libpipewire-module-profiler", None, None):
            raise OSError("libpipewire-module-profiler is not installed")
        lib.pw_thread_loop_lock(self.loop)
        try:
            core = lib.pw_context_connect(context, None, 0)
            if not core:
                raise OSError("cannot connect to PipeWire (is it running in this session?)")
            methods, obj = _methods(core, CoreMethods)
            self._listen(methods, obj, CoreEvents(0, *[None] * 3, ON_ERROR(self._on_error)))
            self.registry = methods.get_registry(obj, 3, 0)
            reg, reg_obj = _methods(self.registry, RegistryMethods)
            self._registry = (reg, reg_obj)
            self._listen(
                reg, reg_obj, RegistryEvents(0, ON_GLOBAL(self._on_global), ON_REMOVE(self._on_remove))
            )
            if lib.pw_thread_loop_start(self.loop) != 0:
                raise OSError("cannot start the PipeWire thread")
        finally:
            lib.pw_thread_loop_unlock(self.loop)

    def _listen(self, methods: Any, obj: int, events: ctypes.Structure) -> None:
        hook = Hook()
        self._keep += [hook, events]
        methods.add_listener(obj, ctypes.byref(hook), ctypes.addressof(events), None)

    def _on_error(self, data: Any, obj_id: int, seq: int, res: int, message: bytes | None) -> None:
        if obj_id == 0 and res == -EPIPE:  # the core itself: PipeWire went away
            self.error = "PipeWire closed the connection"
            self.done.set()

    def _on_global(self, *args: Any) -> None:
        """registry.global(data, id, permissions, type, version, props)"""
        _, gid, _, kind, _, props = args
        found = _props(props)
        if kind == PROFILER and not self._profiler:
            reg, obj = self._registry
            self._profiler = reg.bind(obj, gid, PROFILER, 3, 0)
            if self._profiler:
                prof, pobj = _methods(self._profiler, ProfilerMethods)
                self._listen(prof, pobj, ProfilerEvents(0, ON_PROFILE(self._on_profile)))
                self.bound = True
        elif kind == NODE.encode():
            client = found.get("client.id", "")
            self.nodes[gid] = (client, found.get("node.name", ""))
        elif kind == CLIENT.encode():
            self.clients[gid] = _pid(found)

    def _on_remove(self, data: Any, gid: int) -> None:
        self.nodes.pop(gid, None)
        self.clients.pop(gid, None)
        self.counter.forget(gid)

    def _on_profile(self, data: Any, pod: int) -> None:
        size = int.from_bytes(ctypes.string_at(pod, 4), "little")
        blob = ctypes.string_at(pod, 8 + size)
        self.events += 1
        if self.capture is not None:
            self.capture.append(blob)
        try:
            self.counter.feed(blob)
        except (PodError, IndexError, ValueError) as exc:
            self.error = f"unreadable profiler event: {exc}"
            self.done.set()

    def snapshot(self) -> list[list[Any]]:
        self.lib.pw_thread_loop_lock(self.loop)
        try:
            rows = []
            for node_id, xruns in sorted(self.counter.xruns.items()):
                name = self.counter.names.get(node_id, "")
                client = self.nodes.get(node_id, ("", ""))[0]
                pid = self.clients.get(int(client), 0) if client.isdecimal() else 0
                rows.append([node_id, name, pid, xruns])
            return rows
        finally:
            self.lib.pw_thread_loop_unlock(self.loop)


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL("libpipewire-0.3.so.0")
    for name, restype, args in (
        ("pw_init", None, [c_void_p, c_void_p]),
        ("pw_get_library_version", c_char_p, []),
        ("pw_thread_loop_new", c_void_p, [c_char_p, c_void_p]),
        ("pw_thread_loop_get_loop", c_void_p, [c_void_p]),
        ("pw_thread_loop_start", c_int, [c_void_p]),
        ("pw_thread_loop_lock", None, [c_void_p]),
        ("pw_thread_loop_unlock", None, [c_void_p]),
        ("pw_context_new", c_void_p, [c_void_p, c_void_p, c_size_t]),
        ("pw_context_connect", c_void_p, [c_void_p, c_void_p, c_size_t]),
        ("pw_context_load_module", c_void_p, [c_void_p, c_char_p, c_char_p, c_void_p]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, args
    lib.pw_init(None, None)
    return lib


def emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m smoothdesk.agent.pw_profiler", description=__doc__)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between lines at most")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _die_with_parent()
    try:
        lib = _load()
        profiler = Profiler(lib)
        profiler.connect()
    except OSError as exc:
        emit({"error": str(exc)})
        return 1
    deadline = time.monotonic() + 5
    while not profiler.bound and time.monotonic() < deadline and not profiler.done.is_set():
        time.sleep(0.05)
    if not profiler.bound:
        emit({"error": profiler.error or "PipeWire has no profiler module (libpipewire-module-profiler)"})
        return 1
    emit({"source": "pipewire", "library": lib.pw_get_library_version().decode()})
    last: list[list[Any]] | None = None
    while not profiler.done.wait(args.interval):
        rows = profiler.snapshot()
        if rows != last:
            emit({"nodes": rows})
            last = rows
    emit({"error": profiler.error})
    return 1


def _die_with_parent() -> None:
    """The agent may be killed outright: never outlive it (PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
