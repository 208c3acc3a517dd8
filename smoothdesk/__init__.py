"""SmoothDesk: keeps a Linux desktop responsive under load."""

__version__ = "0.1.0"
