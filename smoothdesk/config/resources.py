"""Where the package data lives (icons, default rules, default model): found with importlib.resources.

`smoothdesk/resources` is a link to the repository's `resources/` in a checkout and a real
directory in a wheel, so a plain `pip install` carries the icons, rules and model too.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource_dir(name: str) -> Path:
    """The package-data directory `name` (icons, rules.d, model) as a file-system path.

    Qt and onnxruntime open files by path, so a zipped install (which would need extracting)
    is not supported; pip and dh-virtualenv always unpack the wheel.
    """
    # Resolved: in a checkout, messages then name the file under resources/ that people edit.
    return Path(str(files("smoothdesk") / "resources" / name)).resolve()
