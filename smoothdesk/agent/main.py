"""`python -m smoothdesk.agent` (and `smoothdesk --agent-only`): the agent alone, headless."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from collections.abc import Sequence

from smoothdesk.agent.agent import SessionAgent
from smoothdesk.dbus.client import parse_bus


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="smoothdesk --agent-only",
        description="Tell the SmoothDesk helper which window has focus, what plays audio, how long "
        "the session has been idle and how many audio xruns PipeWire counted.",
    )
    p.add_argument("--bus", default="system", help="the helper's bus: system, session or an address")
    p.add_argument("--pulse-server", help="PulseAudio server (default: PULSE_SERVER or the usual socket)")
    p.add_argument("--no-audio", action="store_true", help="do not report audio clients")
    p.add_argument("--no-xruns", action="store_true", help="do not report audio xruns (PipeWire)")
    p.add_argument(
        "--print-state",
        action="store_true",
        help="print the agent's state as a JSON line whenever it changes",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def run_agent(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        parse_bus(args.bus)
    except ValueError as exc:
        build_parser().error(str(exc))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    agent = SessionAgent(
        args.bus, pulse_server=args.pulse_server, audio=not args.no_audio, xruns=not args.no_xruns
    )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    agent.start()
    last = None
    try:
        while not done.wait(0.1 if args.print_state else 1.0):
            state = agent.state()
            if args.print_state and state != last:
                print(json.dumps(state), flush=True)
                last = state
    finally:
        agent.stop()
    return 0
