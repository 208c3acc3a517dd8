"""The session agent (plain Python, no Qt): focus, audio clients and idle time, reported to the helper."""

from smoothdesk.agent.agent import SessionAgent
from smoothdesk.agent.main import run_agent

__all__ = ["SessionAgent", "run_agent"]
