"""One tray app per user: a local socket in the runtime dir; a second start wakes the first and exits."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

SOCKET_NAME = "smoothdesk-tray.sock"
ACTIVATE = b"activate\n"


def socket_path() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime).is_absolute():
        base = Path(runtime)
    else:
        base = Path(tempfile.gettempdir()) / f"smoothdesk-{os.getuid()}"
    return base / SOCKET_NAME


class SingleInstance(QObject):
    """`acquire()` is True for the first instance; later ones tell it `activated` and get False."""

    activated = Signal()

    def __init__(self, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path or socket_path()
        self.server: QLocalServer | None = None

    def acquire(self, timeout_ms: int = 1000) -> bool:
        if self._wake_running(timeout_ms):
            return False
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Nobody answered, so a socket file left there is a crashed instance's.
        QLocalServer.removeServer(str(self.path))
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(str(self.path)):
            raise OSError(f"cannot listen on {self.path}: {server.errorString()}")
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def _wake_running(self, timeout_ms: int) -> bool:
        sock = QLocalSocket()
        sock.connectToServer(str(self.path))
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(ACTIVATE)
        sock.waitForBytesWritten(timeout_ms)
        # Wait for the first instance to close: it has read the request by then.
        sock.waitForDisconnected(timeout_ms)
        sock.abort()
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while (conn := self.server.nextPendingConnection()) is not None:
            conn.readyRead.connect(lambda c=conn: self._read(c))
            conn.disconnected.connect(conn.deleteLater)

    def _read(self, conn: QLocalSocket) -> None:
        if bytes(conn.readAll().data()).startswith(ACTIVATE.strip()):
            self.activated.emit()
        conn.disconnectFromServer()
