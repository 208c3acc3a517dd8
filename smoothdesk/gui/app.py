"""smoothdesk: the tray app (and session agent); `smoothdesk --help` lists its options."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from smoothdesk.dbus.client import parse_bus

if TYPE_CHECKING:
    from PySide6.QtCore import QSocketNotifier

AUTO_PROBE_TIMEOUT = 1.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="smoothdesk", description="SmoothDesk's tray icon, windows and session agent."
    )
    p.add_argument(
        "--bus",
        help="system, session, auto (a helper on the session bus, else the system one) or a D-Bus "
        "address; default from ~/.config/smoothdesk/tray.toml, else auto",
    )
    p.add_argument("--no-agent", action="store_true", help="do not report focus and audio to the helper")
    p.add_argument("--agent-only", action="store_true", help="run only the session agent, no tray")
    p.add_argument(
        "--install-integration",
        action="store_true",
        help="with --agent-only: install and enable the GNOME Shell extension or KWin script that "
        "tells the agent the focused window on Wayland, then exit",
    )
    p.add_argument(
        "--screenshot-dir", type=Path, help="save PNGs of the tray and every window there, then quit"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


async def _helper_on(spec: str) -> bool:
    from dbus_fast import MessageType

    from smoothdesk.dbus.client import connect
    from smoothdesk.dbus.names import BUS_NAME
    from smoothdesk.gui.connection import bus_daemon

    bus = await connect(spec)
    try:
        reply = await bus_daemon(bus, "NameHasOwner", "s", BUS_NAME)
        return bool(reply is not None and reply.message_type == MessageType.METHOD_RETURN and reply.body[0])
    finally:
        bus.disconnect()


def resolve_bus(spec: str) -> str:
    """'auto': the session bus if a (user-mode) helper serves there, else the system bus."""
    if spec != "auto":
        parse_bus(spec)
        return spec
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "system"
    try:
        found = asyncio.run(asyncio.wait_for(_helper_on("session"), AUTO_PROBE_TIMEOUT))
    except Exception:  # no usable session bus is an answer too
        return "system"
    return "session" if found else "system"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="smoothdesk: %(message)s"
    )
    if args.install_integration:
        from smoothdesk.agent.integration import main as install

        return install(os.environ)
    from smoothdesk.gui.prefs import Prefs, PrefsError

    try:
        prefs = Prefs.load()
    except PrefsError as exc:
        print(f"smoothdesk: {exc}; using the defaults", file=sys.stderr)
        prefs = Prefs()
    try:
        bus = resolve_bus(args.bus or prefs.bus)
    except ValueError as exc:
        print(f"smoothdesk: {exc}", file=sys.stderr)
        return 2
    if args.agent_only:
        from smoothdesk.agent import run_agent

        return int(run_agent(["--bus", bus]))
    return _run_tray(bus, args)


def _run_tray(bus: str, args: argparse.Namespace) -> int:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from smoothdesk.gui.gc_guard import GuiThreadGc
    from smoothdesk.gui.icons import ICON_DIR
    from smoothdesk.gui.shell import TrayApp
    from smoothdesk.gui.single_instance import SingleInstance

    app = QApplication(sys.argv[:1])
    app.setApplicationName("SmoothDesk")
    app.setDesktopFileName("smoothdesk")
    app.setWindowIcon(QIcon(str(ICON_DIR / "ok.svg")))
    app.setQuitOnLastWindowClosed(False)
    GuiThreadGc(app)
    # Before the socket exists: whoever sees it may SIGTERM us, and that must be a clean quit too.
    shells: list[TrayApp] = []
    wake = _quit_on_signals(lambda: shells[0].quit() if shells else QApplication.quit())
    single = SingleInstance()
    if args.screenshot_dir is None and not single.acquire():
        print("smoothdesk: already running; brought it to the front", file=sys.stderr)
        return 0
    shell = TrayApp(bus, agent=not args.no_agent and args.screenshot_dir is None)
    shells.append(shell)
    single.activated.connect(shell.activate)
    shell.start(offer_start=args.screenshot_dir is None)
    if args.screenshot_dir is not None:
        shell.screenshots(args.screenshot_dir)
    try:
        return app.exec()
    finally:
        shell.stop()
        single.release()
        wake.setEnabled(False)


def _quit_on_signals(quit_app: Callable[[], None]) -> QSocketNotifier:
    """SIGINT/SIGTERM quit cleanly. Python runs handlers only between bytecodes, and Qt's loop sits in
    C; a wakeup fd watched by Qt wakes it with no polling timer (which would cost idle CPU). The quit
    goes through a zero timer: QApplication.quit() before exec() is ignored, so a signal during
    start-up would otherwise be lost and the app would run on."""
    from PySide6.QtCore import QSocketNotifier, QTimer

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda *_: reader.recv(64))
    _keep.extend((reader, writer))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, quit_app))
    return notifier


_keep: list[socket.socket] = []


if __name__ == "__main__":
    sys.exit(main())
