"""The name of SmoothDesk's own cgroups, read with the stdlib alone: the helper needs it for its
clean start (actuator.selfreset), before it can afford any other import."""

from __future__ import annotations

import os

PREFIX_ENV = "SMOOTHDESK_CGROUP_PREFIX"


def read_prefix() -> str:
    """The group prefix: smoothdesk, or $SMOOTHDESK_CGROUP_PREFIX. A second helper beside a real one
    (benches, tests) must not share its groups, or each would restore the other's processes.

    Raises ValueError, naming the variable, when it is not one directory name.
    """
    prefix = os.environ.get(PREFIX_ENV, "smoothdesk")
    if not prefix or "/" in prefix or prefix in (".", ".."):
        raise ValueError(f"{PREFIX_ENV}={prefix!r}: must be one directory name")
    return prefix
