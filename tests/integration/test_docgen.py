"""Man pages and completions generated from the parsers and the schema: complete, valid, and working."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.cli.main import build_parser as ctl_parser
from smoothdesk.config.schema import OPTIONS, TABLE_ARRAYS
from smoothdesk.gui.app import build_parser as tray_parser
from smoothdesk.helper.main import build_parser as helper_parser
from tests.support.tools import needs
from tests.support.users import REPO

DOCGEN = REPO / "scripts/docgen.py"


def _generate(what: str, out: Path) -> None:
    subprocess.run(
        [sys.executable, str(DOCGEN), what, str(out)], check=True, capture_output=True, timeout=120
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docgen")
    _generate("man", out / "man")
    _generate("completions", out / "completions")
    return out


def _tool(name: str, apt: str) -> str:
    path = shutil.which(name)
    if path is None:
        needs([apt], f"the {name} check")
        pytest.skip(f"{name} is not installed (apt: {apt})")
    return path


def _render(page: Path) -> tuple[str, str]:
    man = _tool("man", "man-db")
    result = subprocess.run(
        [man, "--warnings", "-l", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MANWIDTH": "200", "LC_ALL": "C.UTF-8", "MAN_KEEP_FORMATTING": ""},
        check=True,
    )
    # man hyphenates and may draw '-' as U+2010; undo both so words can be searched.
    return result.stdout.replace("\u2010", "-"), result.stderr


def _flags(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _flags(sub)
        yield from (s for s in action.option_strings if s not in ("-h", "--help"))


@pytest.mark.parametrize(
    ("page", "parser"),
    [
        ("man8/smoothdesk-helper.8", helper_parser),
        ("man1/smoothdeskctl.1", ctl_parser),
        ("man1/smoothdesk.1", tray_parser),
    ],
)
def test_each_man_page_renders_cleanly_and_has_every_option(
    generated: Path, page: str, parser: type[argparse.ArgumentParser]
) -> None:
    text, warnings = _render(generated / "man" / page)
    assert warnings == "", warnings
    for flag in set(_flags(parser())):
        assert flag in text, f"{flag} missing from {page}"


def test_smoothdeskctl_page_lists_every_command(generated: Path) -> None:
    text, _ = _render(generated / "man/man1/smoothdeskctl.1")
    for command in ("status", "apps", "set-class", "rules add", "rules check", "report", "doctor"):
        assert f"\n   {command}" in text, command


def test_the_config_page_has_every_option_with_its_default(generated: Path) -> None:
    text, warnings = _render(generated / "man/man5/smoothdesk.conf.5")
    assert warnings == "", warnings
    for opt in OPTIONS:
        if opt.section in TABLE_ARRAYS:
            assert f"[[{opt.section}]]" in text
            for field in TABLE_ARRAYS[opt.section][1]:
                assert f"{field.key} = " in text, field.key
            continue
        assert f"[{opt.section}]" in text
        assert f"{opt.key} = {opt.type.__name__}" in text, opt.key


def test_a_new_option_would_appear_in_the_page(tmp_path: Path) -> None:
    """The pages come from the parser at build time: an option added there is in the next page."""
    script = (
        "import sys, runpy\n"
        "import smoothdesk.helper.main as m\n"
        "orig = m.build_parser\n"
        "def patched():\n"
        "    p = orig(); p.add_argument('--brand-new-flag', help='added for the test'); return p\n"
        "m.build_parser = patched\n"
        f"sys.argv = ['docgen', 'man', {str(tmp_path)!r}]\n"
        f"runpy.run_path({str(DOCGEN)!r}, run_name='__main__')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=120)
    assert "brand\\-new\\-flag" in (tmp_path / "man8/smoothdesk-helper.8").read_text()


def _bash_complete(script: Path, words: list[str]) -> list[str]:
    bash = _tool("bash", "bash")
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f". {script}\n"
        f"COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMPREPLY=()\n"
        "_smoothdeskctl; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run([bash, "-c", program], capture_output=True, text=True, timeout=30, check=True).stdout
    return out.split()


def test_bash_completes_commands_options_and_choices(generated: Path) -> None:
    script = generated / "completions/bash/smoothdeskctl"
    assert "status" in _bash_complete(script, ["smoothdeskctl", ""])
    assert _bash_complete(script, ["smoothdeskctl", "se"]) == ["set-class"]
    assert set(_bash_complete(script, ["smoothdeskctl", "rules", ""])) >= {
        "list",
        "check",
        "add",
        "delete",
        "import",
    }
    assert _bash_complete(script, ["smoothdeskctl", "rules", "add", "--cl"]) == ["--class"]
    classes = ["critical", "interactive", "normal", "background", "idle"]
    assert _bash_complete(script, ["smoothdeskctl", "rules", "add", "--class", ""]) == classes
    assert _bash_complete(script, ["smoothdeskctl", "report", "--format", ""]) == ["json", "csv", "html"]
    # Global options before the command do not hide it.
    assert "--watch" in _bash_complete(script, ["smoothdeskctl", "--json", "status", "--"])


def test_fish_completes_commands_and_choices(generated: Path) -> None:
    fish = _tool("fish", "fish")
    script = generated / "completions/fish/smoothdeskctl.fish"

    def complete(line: str) -> list[str]:
        out = subprocess.run(
            [fish, "--no-config", "-c", f"source {script}; complete -C '{line}'"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return [row.split("\t")[0] for row in out.splitlines()]

    assert "set-class" in complete("smoothdeskctl se")
    assert set(complete("smoothdeskctl rules ")) >= {"list", "check", "add"}
    assert "status" not in complete("smoothdeskctl rules ")
    assert set(complete("smoothdeskctl report --format ")) == {"json", "csv", "html"}
    assert "--watch" in complete("smoothdeskctl status --")


def test_zsh_loads_the_completion_and_binds_it(generated: Path, tmp_path: Path) -> None:
    zsh = _tool("zsh", "zsh")
    directory = generated / "completions/zsh"
    syntax = subprocess.run(
        [zsh, "-n", str(directory / "_smoothdeskctl")], capture_output=True, text=True, check=False
    )
    assert syntax.returncode == 0, syntax.stderr
    program = (
        f"fpath=({directory} $fpath); autoload -U compinit; compinit -u -d {tmp_path}/zcomp; "
        "print -r -- $_comps[smoothdeskctl]"
    )
    out = subprocess.run([zsh, "-f", "-c", program], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "_smoothdeskctl", out.stderr
