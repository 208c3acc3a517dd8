"""The ml package's error base: a model, a snapshot log or a training run that cannot be used."""

from __future__ import annotations

from smoothdesk.core.errors import SmoothDeskError


class MLError(SmoothDeskError):
    """A model file, its metadata, or the training data is unusable; the message says which and why."""
