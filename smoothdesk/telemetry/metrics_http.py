"""A minimal HTTP/1.x server for one read-only page, on one thread with a selector.

No thread per request (socketserver's ThreadingMixIn started one for every scrape) and no WSGI
stack. A client gets `MAX_REQUEST` bytes and `DEADLINE_S` to send its request line and headers;
at most `MAX_CLIENTS` are held open at once, so a local user who opens many connections slows
no one but the scrapers, and never the helper's loop, which runs on another thread.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable

MAX_REQUEST = 8192
DEADLINE_S = 5.0
MAX_CLIENTS = 32
PATHS = ("/metrics", "/")


def response(request: bytes, body: Callable[[], bytes], content_type: str) -> bytes:
    """The whole reply to one request head (the bytes up to the blank line)."""
    line = request.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _reply("400 Bad Request", b"bad request\n", "text/plain")
    method, target = parts[0], parts[1].split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        return _reply("405 Method Not Allowed", b"GET only\n", "text/plain", allow=True)
    if target not in PATHS:
        return _reply("404 Not Found", b"try /metrics\n", "text/plain")
    page = body()
    return _reply("200 OK", page, content_type, head_only=method == "HEAD")


def _reply(
    status: str, body: bytes, content_type: str, *, allow: bool = False, head_only: bool = False
) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    head += "Allow: GET, HEAD\r\n" if allow else ""
    head += "Connection: close\r\n\r\n"
    return head.encode() + (b"" if head_only else body)


class PageServer:
    """Serves `body()` at /metrics (and /) on address:port until close()."""

    def __init__(self, address: str, port: int, body: Callable[[], bytes], content_type: str) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((address, port))
            self._listener.listen(64)
        except OSError:
            self._listener.close()
            raise
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._body, self._type = body, content_type
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        self._clients: dict[socket.socket, tuple[bytearray, float]] = {}
        self._thread = threading.Thread(target=self._run, name="smoothdesk-exporter", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(5.0)

    def _run(self) -> None:
        try:
            while True:
                for key, _ in self._sel.select(timeout=1.0):
                    if key.fileobj is self._wake_r:
                        return
                    if key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._read(key.fileobj)  # type: ignore[arg-type]
                self._expire(time.monotonic())
        finally:
            for client in list(self._clients):
                self._drop(client)
            self._sel.close()
            for s in (self._listener, self._wake_r, self._wake_w):
                s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # EMFILE and the like: the next select tries again
            if len(self._clients) >= MAX_CLIENTS:
                client.close()
                continue
            client.setblocking(False)
            self._clients[client] = (bytearray(), time.monotonic() + DEADLINE_S)
            self._sel.register(client, selectors.EVENT_READ)

    def _read(self, client: socket.socket) -> None:
        buf, _ = self._clients[client]
        try:
            chunk = client.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(client)
            return
        buf += chunk
        end = buf.find(b"\r\n\r\n")
        if end < 0 and len(buf) < MAX_REQUEST:
            return
        if end < 0:
            reply = _reply("431 Request Header Fields Too Large", b"", "text/plain")
        else:
            reply = response(bytes(buf[:end]), self._body, self._type)
        self._sel.unregister(client)
        del self._clients[client]
        with contextlib.suppress(OSError):
            client.setblocking(True)
            client.settimeout(2.0)  # a few KB: the socket buffer takes it unless the client stalls
            client.sendall(reply)
        client.close()

    def _expire(self, now: float) -> None:
        for client, (_, deadline) in list(self._clients.items()):
            if now > deadline:
                self._drop(client)

    def _drop(self, client: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(client)
        self._clients.pop(client, None)
        client.close()
