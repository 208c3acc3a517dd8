"""Root of the project's exception hierarchy."""


class SmoothDeskError(Exception):
    """Base for every error SmoothDesk raises on purpose; each package subclasses it."""
