"""The typed [store], [probe] and [exporter] settings read what the config file says, in their units."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.config.loader import load_settings
from smoothdesk.config.schema import defaults
from smoothdesk.telemetry.settings import ExporterSettings, ProbeSettings, StoreSettings

CONFIG = """\
[store]
enabled = false
path = "/var/tmp/log.sqlite"
max_age_days = 2.5
raw_hours = 12
max_mb = 64
hash_cmdlines = true
detail_every = 7.5
processes_per_tick = 3

[probe]
enabled = false
interval_ms = 250
schedstat = false

[exporter]
enabled = true
address = "::1"
port = 9999
allow_remote = true
top_apps = 4
"""


def test_each_setting_is_read_from_the_file_in_its_users_units(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    settings = load_settings([], explicit=path)
    assert StoreSettings.from_settings(settings) == StoreSettings(
        enabled=False,
        path=Path("/var/tmp/log.sqlite"),
        max_age_s=2.5 * 86400,
        raw_s=12 * 3600,
        max_bytes=64 * 2**20,
        hash_cmdlines=True,
        detail_every=7.5,
        processes_per_tick=3,
    )
    assert ProbeSettings.from_settings(settings) == ProbeSettings(False, 0.25, False)
    assert ExporterSettings.from_settings(settings) == ExporterSettings(True, "::1", 9999, True, 4)


def test_defaults_come_from_the_schema() -> None:
    store = StoreSettings.from_settings(defaults())
    assert store.path is None  # empty: snapshots.sqlite in the state directory
    assert (store.enabled, store.max_age_s, store.max_bytes) == (True, 7 * 86400, 320 * 2**20)
    assert ProbeSettings.from_settings(defaults()) == ProbeSettings(True, 0.1, True)
    assert ExporterSettings.from_settings(defaults()).enabled is False
