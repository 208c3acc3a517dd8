"""The actuator's error base class."""

from smoothdesk.core.errors import SmoothDeskError


class ActuatorError(SmoothDeskError):
    """Raised for actuator failures that the caller must see (bad journal, broken backend)."""
