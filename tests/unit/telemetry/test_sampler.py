"""Where the sampler binary comes from: installed, cached, built once, never from a shared directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from smoothdesk.telemetry.sampler import SamplerError, sampler_binary

needs_cc = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler"
)


@needs_cc
def test_built_once_into_the_cache_and_runs(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = sampler_binary(cache, installed=tmp_path / "absent")
    assert first.parent == cache and first.name.startswith("smoothdesk-sampler-")
    assert (cache.stat().st_mode & 0o777) == 0o700
    mtime = first.stat().st_mtime_ns
    assert sampler_binary(cache, installed=tmp_path / "absent") == first
    assert first.stat().st_mtime_ns == mtime, "a cached build is reused, not rebuilt"
    # It speaks the protocol: it exits at once when its parent pid is not its parent.
    assert subprocess.run([str(first), "1000000", "1"], timeout=5, check=False).returncode == 0
    assert subprocess.run([str(first)], timeout=5, check=False).returncode == 2


def test_an_installed_sampler_wins(tmp_path: Path) -> None:
    installed = tmp_path / "smoothdesk-sampler"
    installed.write_text("#!/bin/sh\n")
    installed.chmod(0o755)
    assert sampler_binary(tmp_path / "cache", installed=installed) == installed


@needs_cc
def test_a_cache_others_can_write_is_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o777)
    with pytest.raises(SamplerError, match="writable by others"):
        sampler_binary(cache, installed=tmp_path / "absent")
    assert not any(cache.iterdir())


@needs_cc
def test_a_planted_binary_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    built = sampler_binary(cache, installed=tmp_path / "absent")
    built.write_text("#!/bin/sh\necho planted\n")
    built.chmod(0o777)  # writable by anyone: not trusted, built again
    again = sampler_binary(cache, installed=tmp_path / "absent")
    assert again == built and b"planted" not in again.read_bytes()
    assert (again.stat().st_mode & 0o022) == 0


def test_no_compiler_says_so(tmp_path: Path) -> None:
    with pytest.raises(SamplerError, match=r"could not build|no C compiler|failed"):
        sampler_binary(tmp_path / "cache", installed=tmp_path / "absent", compiler=str(tmp_path / "no-cc"))
    missing = tmp_path / "bin"
    missing.mkdir()
    old = os.environ["PATH"]
    try:
        os.environ["PATH"] = str(missing)
        with pytest.raises(SamplerError, match="no C compiler"):
            sampler_binary(tmp_path / "cache2", installed=tmp_path / "absent")
    finally:
        os.environ["PATH"] = old
