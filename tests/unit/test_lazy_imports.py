"""The helper stays small: numpy and onnxruntime load only when the ranker needs them, and
prometheus_client never (the exporter writes the text format itself)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "onnxruntime", "prometheus_client")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_helper_imports_none_of_them() -> None:
    assert loaded_after("import smoothdesk.helper.main, smoothdesk.helper.daemon") == set()


def test_the_ranker_loads_them_and_the_exporter_none() -> None:
    assert loaded_after("from smoothdesk.ml.ranker import load_default; load_default()") >= {
        "numpy",
        "onnxruntime",
    }
    code = "from smoothdesk.telemetry.exporter import Exporter\ne = Exporter(lambda: None, port=0)\ne.close()"
    assert loaded_after(code) == set()
