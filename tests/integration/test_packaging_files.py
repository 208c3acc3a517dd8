"""The exporter drop-in, the desktop integration files (metainfo, icon, admin config template),
the wheel built offline with Debian's setuptools, and what `make run` and `make test` install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest

from smoothdesk.config.loader import apply_file
from smoothdesk.config.schema import defaults
from tests.integration.test_packaging import PKG, UNIT, _findings, _unit_settings
from tests.support.tools import needs
from tests.support.users import REPO

DROP_IN = PKG / "systemd/system/smoothdesk-helper.service.d/exporter-loopback.conf"
METAINFO = PKG / "metainfo/org.smoothdesk.SmoothDesk.metainfo.xml"
APP_ICON = PKG / "icons/hicolor/scalable/apps/smoothdesk.svg"
ADMIN_CONFIG = PKG / "etc/smoothdesk/config.toml"


def _require(tool: str, apt: str, what: str) -> str:
    """The tool's path; a skip without it, a failure under make test (which installs it)."""
    path = shutil.which(tool)
    if path is None:
        needs([apt], what)
        pytest.skip(f"{what} needs {tool} (apt: {apt})")
    return path


# ------------------------------------------------------------------------- exporter drop-in


def test_the_exporter_drop_in_opens_loopback_only_and_keeps_the_rest() -> None:
    """Merged the way systemd merges them: the families add up, IPAddressDeny=any stays."""
    unit = _unit_settings(UNIT.read_text(encoding="utf-8"))
    drop_in = _unit_settings(DROP_IN.read_text(encoding="utf-8"))
    assert drop_in == {"RestrictAddressFamilies": ["AF_INET AF_INET6"], "IPAddressAllow": ["localhost"]}
    families = {
        f
        for value in unit["RestrictAddressFamilies"] + drop_in["RestrictAddressFamilies"]
        for f in value.split()
    }
    assert families == {"AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6"}
    assert unit["IPAddressDeny"] == ["any"]
    assert "IPAddressAllow" not in unit  # without the drop-in, no IP traffic at all


def test_systemd_verify_accepts_the_unit_with_its_drop_in(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt: systemd)")
    stub = tmp_path / "smoothdesk-helper"
    stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stub.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/usr/bin/smoothdesk-helper", str(stub)), encoding="utf-8")
    drop_dir = tmp_path / f"{UNIT.name}.d"
    drop_dir.mkdir()
    shutil.copy(DROP_IN, drop_dir)
    # A misspelt key in the drop-in must be reported, so the clean run below means something.
    (drop_dir / "zz-broken.conf").write_text("[Service]\nIPAddressAlow=localhost\n")
    run = [tool, "verify", "--man=no", "--generators=no", str(unit)]
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    broken = subprocess.run(run, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert "IPAddressAlow" in broken.stdout + broken.stderr
    (drop_dir / "zz-broken.conf").unlink()
    result = subprocess.run(run, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _findings(result) == []


# ------------------------------------------------------------------ desktop integration files


def test_appstream_metainfo_validates() -> None:
    tool = _require("appstreamcli", "appstream", "validating the metainfo")
    result = subprocess.run(
        [tool, "validate", "--no-net", "--pedantic", str(METAINFO)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The control: a broken file is rejected, so the pass above is the file's.
    broken = METAINFO.read_text().replace("<summary>", "<sumary>").replace("</summary>", "</sumary>")
    with tempfile.NamedTemporaryFile("w", suffix=".metainfo.xml", prefix="org.smoothdesk.SmoothDesk") as f:
        f.write(broken)
        f.flush()
        bad = subprocess.run(
            [tool, "validate", "--no-net", f.name], capture_output=True, text=True, timeout=60, check=False
        )
    assert bad.returncode != 0, bad.stdout


def test_metainfo_names_the_desktop_file_and_the_license() -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(METAINFO).getroot()
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == "smoothdesk.desktop"
    assert (PKG / "desktop" / launchable.text).is_file()
    pyproject_license = re.search(r"^license = (\S+)", (REPO / "setup.cfg").read_text(), re.MULTILINE)
    assert pyproject_license is not None
    assert root.findtext("project_license") == pyproject_license.group(1)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    releases = root.find("releases")
    assert releases is not None and releases[0].get("version") == version


def test_the_desktop_file_icon_is_the_hicolor_icon_shipped() -> None:
    import xml.etree.ElementTree as ET

    entry = (PKG / "desktop/smoothdesk.desktop").read_text()
    assert re.search(r"^Icon=smoothdesk$", entry, re.MULTILINE)
    assert APP_ICON.stem == "smoothdesk" and APP_ICON.parent.as_posix().endswith("hicolor/scalable/apps")
    svg = ET.parse(APP_ICON).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox")


def test_the_admin_config_template_is_all_comments_and_loads(tmp_path: Path) -> None:
    text = ADMIN_CONFIG.read_text(encoding="utf-8")
    assert tomllib.loads(text) == {}
    settings = defaults()
    apply_file(settings, ADMIN_CONFIG)
    assert settings.values == defaults().values
    # Its example, uncommented, is a valid setting.
    example = tmp_path / "config.toml"
    example.write_text(re.sub(r"^#(\[exporter\]|enabled = true)$", r"\1", text, flags=re.MULTILINE))
    settings = defaults()
    apply_file(settings, example)
    assert settings.get("exporter", "enabled") is True


# ---------------------------------------------------------------------------------- the wheel


def test_debian_setuptools_builds_the_wheel_offline_with_its_package_data(tmp_path: Path) -> None:
    """Debian 12's own setuptools (66), no network, no build isolation: the license field and the
    package data (icons, rules, model) that a plain `pip install` relies on."""
    import zipfile

    python = Path("/usr/bin/python3")
    if not python.is_file():
        pytest.skip("no Debian python3")
    probe = subprocess.run([str(python), "-c", "import setuptools, wheel"], capture_output=True, check=False)
    if probe.returncode != 0:
        needs(["python3-setuptools", "python3-wheel"], "the offline wheel build")
        pytest.skip("Debian's python3-setuptools and python3-wheel are not installed")
    src = tmp_path / "src"
    shutil.copytree(
        REPO,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".*_cache"
        ),
    )
    script = f"from setuptools import build_meta as b; print(b.build_wheel({str(tmp_path / 'out')!r}))"
    result = subprocess.run(
        [str(python), "-c", script],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PIP_NO_INDEX": "1", "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    wheel = tmp_path / "out" / result.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for rel in ("icons/ok.svg", "rules.d/10-build.toml", "model/attention.onnx", "model/attention.json"):
        assert f"smoothdesk/resources/{rel}" in names, rel
    assert "License: GPL-3.0-or-later" in metadata.splitlines()
    assert any(n.endswith(".dist-info/LICENSE") for n in names)


# ------------------------------------------------------------------------------- make targets


def _make_dry_run(target: str, tmp_path: Path) -> list[str]:
    """The pip commands `make TARGET` would run for a venv that does not exist yet."""
    result = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if "pip install" in line]


def test_make_run_installs_only_what_running_needs(tmp_path: Path) -> None:
    run = [line for line in _make_dry_run("run", tmp_path) if " -e " in line]
    assert len(run) == 1 and run[0].endswith("-e '.[gui]'"), run
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert not any(dep.startswith("catboost") for dep in extras["gui"])
    # make test still gets the dev tools and the trainer it tests.
    test = [line for line in _make_dry_run("test", tmp_path) if " -e " in line]
    assert len(test) == 1 and test[0].endswith("-e '.[dev,gui,ml]'"), test
