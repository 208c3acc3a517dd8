"""The architecture is a checked contract: import rules (import-linter) and module size."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    out = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout
    # Every contract pyproject.toml declares must be checked and kept, not some of them.
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert len(declared) >= 8
    assert out.stdout.count(" KEPT") == len(declared), out.stdout


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
