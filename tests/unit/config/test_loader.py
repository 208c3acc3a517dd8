"""Config layering and validation errors that name the file and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import tomli_w

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.loader import load_settings
from smoothdesk.config.schema import OPTIONS, TABLE_ARRAYS, defaults
from smoothdesk.core.engine_config import EngineConfig


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_default_passes_its_own_validation(tmp_path: Path) -> None:
    # A file that spells out every option at its default must load, and change nothing: a
    # default outside its own range, of the wrong type or not among its choices fails here.
    table: dict[str, dict[str, object]] = {}
    for opt in OPTIONS:
        assert opt.description, f"{opt.section}.{opt.key} has no description"
        if opt.section not in TABLE_ARRAYS:  # [[slo]] tables are written as their own array
            table.setdefault(opt.section, {})[opt.key] = opt.default
    assert len({(o.section, o.key) for o in OPTIONS}) == len(OPTIONS)
    spelled = tmp_path / "every.toml"
    spelled.write_bytes(tomli_w.dumps(table).encode())
    loaded = load_settings([spelled])
    assert loaded.values == defaults().values
    spelled_out = {k for k, v in loaded.origins.items() if v != "default"}
    assert spelled_out == {f"{s}.{k}" for s, keys in table.items() for k in keys}


def test_layers_apply_in_order_and_record_origin(tmp_path: Path) -> None:
    vendor = write(tmp_path / "vendor.toml", "[helper]\ntick = 2\nfull_scan_every = 9\n")
    admin = write(tmp_path / "admin.toml", "[helper]\ntick = 0.5\n")
    s = load_settings([vendor, tmp_path / "missing.toml", admin])
    assert s.get("helper", "tick") == 0.5
    assert s.get("helper", "full_scan_every") == 9.0
    assert s.origins["helper.tick"] == str(admin)
    assert s.origins["helper.full_scan_every"] == str(vendor)


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("[helper]\n\ntick = 'fast'\n", 3, "expected float"),
        ("[helper]\ntick = 0.001\n", 2, "must be >= 0.05"),
        ("[engine]\nnoisy_cpu_percent = 50\nbogus = 1\n", 3, "unknown setting engine.bogus"),
        ("[actuator]\ncgroup = 'v3'\n", 2, "must be one of"),
        ("[helper]\ntick = \n", 2, "Invalid value"),
        ("[rules]\nananicy_dirs = [1, 2]\n", 2, "list of strings"),
    ],
)
def test_bad_values_name_file_and_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    bad = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings([], explicit=bad)
    assert info.value.line == line
    assert str(info.value).startswith(f"{bad}:{line}: ")
    assert needle in str(info.value)


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings([], explicit=tmp_path / "nope.toml")


def test_every_engine_field_is_set_from_the_file(tmp_path: Path) -> None:
    # Each field gets a value of its own, inside its range and unlike its default, so a field the
    # schema dropped or the helper did not pass on keeps its default and fails here.
    chosen: dict[str, float] = {}
    for f in dataclasses.fields(EngineConfig):
        low, high = f.metadata["minimum"], f.metadata["maximum"]
        chosen[f.name] = round(low + (high - low) * (0.3 + 0.01 * len(chosen)), 3)
    chosen["release_cpu_percent"] = chosen["noisy_cpu_percent"] - 1.0
    chosen["ranker_eager_score"] = chosen["ranker_keep_score"] - 0.1
    path = write(tmp_path / "engine.toml", tomli_w.dumps({"engine": chosen}))
    settings = load_settings([], explicit=path)
    config = EngineConfig(**settings.values["engine"])
    for name, value in chosen.items():
        assert getattr(config, name) == value != getattr(EngineConfig(), name), name
        assert settings.origins[f"engine.{name}"] == str(path)


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("[engine]\nmin_dwell = -1\n", 2, "engine.min_dwell: must be >= 0"),
        ("[engine]\nranker_keep_score = 1.5\n", 2, "engine.ranker_keep_score: must be <= 1"),
        # Checks across options name the option that completes the bad pair, in that file.
        ("[engine]\nnoisy_cpu_percent = 50\nrelease_cpu_percent = 60\n", 3, "must be below"),
        ("[engine]\n\nnoisy_cpu_percent = 20\n", 1, "release_cpu_percent must be below"),
        ("[engine]\nranker_eager_factor = 0.0\n", 2, "ranker_eager_factor must be above 0"),
    ],
)
def test_bad_engine_values_name_file_and_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    bad = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings([], explicit=bad)
    assert str(info.value).startswith(f"{bad}:{line}: ")
    assert needle in str(info.value)


def test_an_engine_pair_spread_over_two_layers_blames_the_later_file(tmp_path: Path) -> None:
    vendor = write(tmp_path / "vendor.toml", "[engine]\nrelease_cpu_percent = 40\n")
    admin = write(tmp_path / "admin.toml", "[helper]\ntick = 1\n[engine]\nnoisy_cpu_percent = 35\n")
    with pytest.raises(ConfigError) as info:
        load_settings([vendor, admin])
    assert str(info.value).startswith(f"{admin}:3: engine.release_cpu_percent must be below")
