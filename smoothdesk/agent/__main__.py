"""Run the session agent headless: python -m smoothdesk.agent --bus ADDRESS."""

import sys

from smoothdesk.agent.main import run_agent

sys.exit(run_agent())
