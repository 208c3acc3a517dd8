"""The config of an in-process helper on a fake /proc: every optional part off, so a test sees
only what it turns on."""

from __future__ import annotations


def quiet_config(cgroup: str = "off", autogroup: bool = True) -> str:
    return f"""
[helper]
netlink = false
[rules]
ananicy_dirs = []
[actuator]
cgroup = "{cgroup}"
autogroup = {str(autogroup).lower()}
[probe]
enabled = false
schedstat = false
[store]
enabled = false
[gpu]
enabled = false
[ranker]
model = "off"
"""
