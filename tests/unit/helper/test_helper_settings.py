"""The helper's typed settings read every [helper], [rules], [actuator], [gpu] and [ranker] option."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.config.loader import load_settings
from smoothdesk.helper.settings import HelperSettings

CONFIG = """\
[helper]
tick = 0.5
full_scan_every = 30
dry_run = true
netlink = false

[rules]
ananicy_dirs = ["/srv/ananicy"]
extra_dirs = ["/srv/rules", "/srv/more"]

[actuator]
cgroup = "v1"
autogroup = false

[gpu]
enabled = false

[ranker]
model = "off"

[memory]
kill = true
"""


def test_each_setting_is_read_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    assert HelperSettings.from_settings(load_settings([], explicit=path)) == HelperSettings(
        tick=0.5,
        full_scan_every=30.0,
        dry_run=True,
        netlink=False,
        ananicy_dirs=(Path("/srv/ananicy"),),
        extra_rule_dirs=(Path("/srv/rules"), Path("/srv/more")),
        cgroup="v1",
        autogroup=False,
        gpu=False,
        ranker_model="off",
        memory_kill=True,
    )
