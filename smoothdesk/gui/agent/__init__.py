"""The session agent (plain Python, no Qt): focus, audio clients and idle time, reported to the helper."""

from smoothdesk.gui.agent.agent import SessionAgent
from smoothdesk.gui.agent.main import run_agent

__all__ = ["SessionAgent", "run_agent"]
