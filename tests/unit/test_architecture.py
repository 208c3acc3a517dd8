"""The architecture is a checked contract: import rules (import-linter) and module size."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    # A wide console, so that no contract's name wraps in the report.
    env = {**os.environ, "COLUMNS": "1000"}
    out = subprocess.run([exe], cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    # The layers and the contracts they cannot express are all there: none was dropped...
    names = {c["name"] for c in declared}
    assert len(declared) >= 8
    assert [c["containers"] for c in declared if c["type"] == "layers"] == [["smoothdesk"], ["smoothdesk.ml"]]
    assert {
        "the helper never imports smoothdesk.ml.training",
        "the session agent never imports PySide6, pyqtgraph or smoothdesk.gui",
    } <= names
    # ...and every one of them was checked and kept, by name, not some of them.
    kept = {line.removesuffix(" KEPT") for line in out.stdout.splitlines() if line.endswith(" KEPT")}
    assert kept == names, out.stdout
    assert f"Contracts: {len(declared)} kept, 0 broken." in out.stdout, out.stdout


def test_no_module_passes_400_lines() -> None:
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in (REPO / "smoothdesk").rglob("*.py")}
    too_big = {str(p.relative_to(REPO)): n for p, n in sizes.items() if n > 400}
    assert not too_big


def test_every_module_says_what_it_is_for() -> None:
    missing = [
        str(p.relative_to(REPO))
        for p in (REPO / "smoothdesk").rglob("*.py")
        if p.stat().st_size and not p.read_text(encoding="utf-8").lstrip().startswith('"""')
    ]
    assert not missing
