"""wiring.build probes the cgroup layout once and hands it to the cgroup lever and the pressure reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from helper_config import quiet_config

from smoothdesk.actuator import CgroupV1Backend
from smoothdesk.collector import cgroups
from smoothdesk.core.cgroup_layout import CgroupLayout
from smoothdesk.core.classes import PriorityClass
from smoothdesk.helper import telemetry, wiring
from smoothdesk.helper.options import Options

CONFIG = quiet_config("auto")


def test_one_probe_reaches_the_actuator_and_the_telemetry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hybrid machine like this one, faked: v1 cpu with cpu.shares, an empty v2 at unified/.
    fs = tmp_path / "sys" / "fs" / "cgroup"
    (fs / "cpu").mkdir(parents=True)
    (fs / "cpu" / "cpu.shares").write_text("1024\n")
    (fs / "unified").mkdir()
    (fs / "unified" / "cgroup.controllers").write_text("\n")
    probed: list[CgroupLayout] = []
    real = cgroups.probe_layout

    def counting(sys_root: Path = Path("/sys")) -> CgroupLayout:
        probed.append(real(sys_root))
        return probed[-1]

    for module in (cgroups, wiring, telemetry):
        monkeypatch.setattr(module, "probe_layout", counting, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    options = Options(
        dry_run=True,
        user=False,
        config=config,
        sys_root=tmp_path / "sys",
        run_dir=tmp_path / "run",
        state_dir=tmp_path / "state",
        rules_write_path=tmp_path / "rules.toml",
    )
    helper = wiring.build(options)
    try:
        assert len(probed) == 1, "the layout is probed once, at start"
        (layout,) = probed
        assert layout.root == fs and layout.mode == "hybrid"
        assert helper.telemetry.unified == fs / "unified" == layout.unified
        if helper.parts.user_mode:
            pytest.skip("not root: no cgroupfs lever to check")
        backend = helper.actuator.backend
        assert isinstance(backend, CgroupV1Backend)
        assert backend.mount == layout.v1_cpu == fs / "cpu"
    finally:
        helper.telemetry.stop()


@pytest.mark.parametrize("autogroup", [True, False])
def test_actuator_autogroup_reaches_the_actuators_lever_table(tmp_path: Path, autogroup: bool) -> None:
    config = tmp_path / "config.toml"
    config.write_text(quiet_config("off", autogroup=autogroup))
    options = Options(dry_run=True, config=config, sys_root=tmp_path / "sys", run_dir=tmp_path / "run",
                      state_dir=tmp_path / "state", rules_write_path=tmp_path / "rules.toml")  # fmt: skip
    helper = wiring.build(options)
    try:
        lowered = {k for k, lv in helper.actuator.levers.items() if lv.autogroup_nice is not None}
    finally:
        helper.telemetry.stop()
    if autogroup and not helper.parts.user_mode:
        assert PriorityClass.BACKGROUND in lowered and PriorityClass.IDLE in lowered
    else:
        assert lowered == set()
