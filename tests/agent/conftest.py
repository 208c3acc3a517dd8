"""Session agent test fixtures: private user dirs (autouse) and a real user-mode helper; no Qt."""

from __future__ import annotations

from tests.support.user_helper import user_dirs, user_helper

__all__ = ["user_dirs", "user_helper"]
