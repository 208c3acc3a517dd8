"""The composition root: builds the helper's parts once and hands them to those that use them.

Like TuneD's application object: the settings, the rule book, the actuator with its cgroup
backend, the telemetry, the pins and the process table are made here and passed in; no part
reaches back for another.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from smoothdesk.actuator import Actuator, backend_for
from smoothdesk.collector.cgroups import probe_layout
from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.config.loader import load_settings
from smoothdesk.config.paths import config_files, run_dir, state_dir
from smoothdesk.config.schema import Settings
from smoothdesk.helper.attention import Attention
from smoothdesk.helper.controller import Controller
from smoothdesk.helper.daemon import Daemon
from smoothdesk.helper.history import History
from smoothdesk.helper.options import Options
from smoothdesk.helper.parts import Parts
from smoothdesk.helper.pins import PinStore
from smoothdesk.helper.reporters import ReportBook
from smoothdesk.helper.rulebook import RuleBook, default_write_path
from smoothdesk.helper.settings import HelperSettings
from smoothdesk.helper.telemetry import Telemetry
from smoothdesk.policy.memory import MemoryGuard, MemorySettings


@dataclass(frozen=True, slots=True)
class Helper:
    """The built helper: what the loop starts and stops around the daemon's ticks."""

    options: Options
    config: HelperSettings  # as read at start: what the loop needs (netlink)
    parts: Parts
    daemon: Daemon
    controller: Controller

    @property
    def actuator(self) -> Actuator:
        return self.parts.actuator

    @property
    def telemetry(self) -> Telemetry:
        return self.parts.telemetry


def build(options: Options) -> Helper:
    """Read the config and make every part; raises SmoothDeskError on a bad config or run directory."""
    uid = os.geteuid()
    user_mode = options.user or uid != 0

    def load() -> Settings:
        return load_settings(config_files(user_mode), options.config)

    settings = load()
    config = HelperSettings.from_settings(settings)
    dry_run = options.dry_run or config.dry_run
    tick_seconds = options.tick or config.tick
    where = options.run_dir or run_dir(user_mode)
    if not dry_run:
        where.mkdir(parents=True, exist_ok=True, mode=0o755)
    rules_write_path = options.rules_write_path or default_write_path(user_mode)
    table = ProcessTable(options.proc_root, full_every=config.full_scan_every)
    rulebook = RuleBook(user_mode, config, rules_write_path)
    history = History(tick_seconds)
    cgroups = probe_layout(options.sys_root)  # once: the cgroup lever and the pressure reads share it
    backend = backend_for(config.cgroup, cgroups, user_mode=user_mode)
    actuator = Actuator(where, dry_run=dry_run, user_uid=uid if user_mode else None, cgroup_backend=backend,
                        autogroup=config.autogroup)  # fmt: skip
    pins = PinStore(None if dry_run else where / "pins.json")
    attention = Attention(config.ranker_model)
    telemetry = Telemetry(
        settings,
        user_mode=user_mode,
        uid=uid,
        dry_run=dry_run,
        state_dir=options.state_dir or state_dir(user_mode),
        cgroups=cgroups,
        attention=attention,
    )
    memory = MemoryGuard(
        MemorySettings.from_section(settings.values["memory"]), user_uid=uid if user_mode else None
    )
    parts = Parts(
        user_mode=user_mode,
        uid=uid,
        dry_run=dry_run,
        tick_seconds=tick_seconds,
        settings=settings,
        load_settings=load,
        table=table,
        rulebook=rulebook,
        actuator=actuator,
        cgroup_backend=backend.name if backend is not None else "off",
        pins=pins,
        attention=attention,
        memory=memory,
        telemetry=telemetry,
        history=history,
        reports=ReportBook(),
    )
    daemon = Daemon(parts)
    controller = Controller(
        daemon,
        telemetry,
        parts.history,
        proc_root=Path(options.proc_root),
        rules_write_path=rules_write_path,
        ananicy_extra_root=options.ananicy_extra_root,
    )
    return Helper(options, config, parts, daemon, controller)
