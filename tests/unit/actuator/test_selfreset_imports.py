"""The helper's first step (leave our cgroups, nice and policy to neutral) loads nothing heavy.

A helper born demoted runs at a tiny share of the CPU until that step is done; it measured 10-58 s
from main() to the reset while the actuator package (backends, journal, D-Bus) and ctypes loaded
first (bench/bench_startup.py). A fresh interpreter shows what the step really imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.users import REPO

CHILD = """
import json, sys
before = set(sys.modules)
from smoothdesk.helper.main import _cpu_clean
mid = set(sys.modules)
out = _cpu_clean()
print(json.dumps({"module": sorted(mid - before), "step": sorted(set(sys.modules) - mid),
                  "changed": out.changed, "kept": out.kept}))
"""
# What the step may load: our prefix reader and the package skeletons (no __init__ work).
LIGHT = {
    "smoothdesk",
    "smoothdesk.helper",
    "smoothdesk.helper.main",
    "smoothdesk.actuator",
    "smoothdesk.actuator.prefix",
    "smoothdesk.actuator.selfreset",
}
HEAVY = {"ctypes", "argparse", "logging", "asyncio", "dataclasses", "typing", "json", "dbus_fast"}


def test_the_first_step_of_the_clean_start_loads_only_light_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(done.stdout)
    ours = {m for m in found["module"] + found["step"] if m.startswith("smoothdesk")}
    assert ours <= LIGHT, sorted(ours - LIGHT)
    # json is the child's own (imported before the snapshot); nothing heavy may come with the step.
    assert not (set(found["step"]) | set(found["module"])) & HEAVY, found
    assert found["changed"] == [] and found["kept"] == []  # a neutral process stays as it is


def test_the_package_loads_a_backend_only_when_it_is_asked_for() -> None:
    code = (
        "import sys, smoothdesk.actuator as a; light = 'smoothdesk.actuator.actuator' not in sys.modules;"
        " a.Actuator; print(light, 'smoothdesk.actuator.actuator' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True"]
