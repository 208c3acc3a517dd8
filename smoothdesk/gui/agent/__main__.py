"""Run the session agent headless: python -m smoothdesk.gui.agent --bus ADDRESS."""

import sys

from smoothdesk.gui.agent.main import run_agent

sys.exit(run_agent())
