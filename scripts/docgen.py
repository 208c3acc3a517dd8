#!/usr/bin/env python3
"""Man pages and shell completion generated from the argparse parsers and the config schema.

Run at package build time (debian/rules), never committed, so they cannot drift from the code:

    python scripts/docgen.py man OUTDIR          # OUTDIR/man1, man5, man8
    python scripts/docgen.py completions OUTDIR  # OUTDIR/bash/smoothdeskctl, zsh/_smoothdeskctl, fish/...

It lives outside the package because it imports smoothdesk.helper, which no package may import.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from docgen_argparse import metavar, options, subcommands  # beside this file
from docgen_completion import COMPLETIONS

from smoothdesk import __version__
from smoothdesk.cli.main import build_parser as ctl_parser
from smoothdesk.config.schema import OPTIONS, SECTIONS, TABLE_ARRAYS, Option
from smoothdesk.config.vendor import explain, toml_value
from smoothdesk.gui.app import build_parser as tray_parser
from smoothdesk.helper.main import build_parser as helper_parser

# SOURCE_DATE_EPOCH (set by dpkg-buildpackage from debian/changelog) keeps the build reproducible.
DATE = datetime.datetime.fromtimestamp(
    int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or datetime.datetime.now().timestamp(), datetime.UTC
).strftime("%Y-%m-%d")


# ------------------------------------------------------------------------------------ argparse


def is_global(action: argparse.Action, top: argparse.ArgumentParser) -> bool:
    """A subcommand's copy of a global option (--json, --bus): documented once, at the top."""
    flags = {s for a in options(top) for s in a.option_strings}
    return bool(action.option_strings) and set(action.option_strings) <= flags


# ---------------------------------------------------------------------------------------- roff


def roff(text: str) -> str:
    """Escape text for a man page line: backslashes, hyphens in words, leading dots."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def _opt_item(action: argparse.Action) -> list[str]:
    if action.option_strings:
        arg = metavar(action)
        names = ", ".join(f"\\fB{roff(s)}\\fR" for s in action.option_strings)
        head = names + (f" \\fI{roff(arg)}\\fR" if arg else "")
    else:
        head = f"\\fI{roff(metavar(action))}\\fR"
    return [".TP", head, roff(action.help or "")]


def _header(name: str, section: int, summary: str) -> list[str]:
    return [
        f'.TH {roff(name.upper())} {section} "{DATE}" "SmoothDesk {__version__}" "SmoothDesk"',
        ".SH NAME",
        f"{roff(name)} \\- {roff(summary)}",
    ]


def _see_also(*pages: str) -> list[str]:
    return [".SH SEE ALSO", ",\n".join(f"\\fB{roff(p.split('(')[0])}\\fR({p.split('(')[1]}" for p in pages)]


def _synopsis(prog: str, parser: argparse.ArgumentParser, tail: str = "") -> list[str]:
    usage = parser.format_usage().removeprefix("usage: ").removeprefix(prog).strip()
    return [".SH SYNOPSIS", f"\\fB{roff(prog)}\\fR {roff(' '.join(usage.split()))}{tail}"]


def helper_page() -> str:
    p = helper_parser()
    lines = _header("smoothdesk-helper", 8, "keep the desktop responsive under load")
    lines += _synopsis("smoothdesk-helper", p)
    lines += [".SH DESCRIPTION", roff(p.description or "")]
    lines += [
        ".PP",
        roff(
            "As root under systemd (smoothdesk-helper.service) it owns org.smoothdesk.Helper1 on the "
            "system bus; D-Bus activation starts the unit on the first call. Run unprivileged with "
            "--bus session (user mode) it may only lower the priority of its own user's processes."
        ),
    ]
    lines += [".SH OPTIONS"] + [x for a in options(p) for x in _opt_item(a)]
    lines += [".SH FILES", *_files()]
    lines += _see_also("smoothdeskctl(1)", "smoothdesk(1)", "smoothdesk.conf(5)", "systemd.exec(5)")
    return "\n".join(lines) + "\n"


def _files() -> list[str]:
    files = [
        ("/usr/share/smoothdesk/config.toml", "vendor defaults, every option commented"),
        ("/etc/smoothdesk/config.toml", "the administrator's settings, see smoothdesk.conf(5)"),
        ("/usr/share/smoothdesk/rules.d/", "the shipped classification rules"),
        ("/etc/smoothdesk/rules.d/", "the administrator's rules; 90-dbus.toml is written over D-Bus"),
        ("/run/smoothdesk/", "the rollback journal of every change, restored after a crash"),
        ("/var/lib/smoothdesk/", "the snapshot log (SQLite) the trainer learns from"),
    ]
    return [x for path, what in files for x in (".TP", f"\\fI{roff(path)}\\fR", roff(what))]


def ctl_page() -> str:
    p = ctl_parser()
    lines = _header("smoothdeskctl", 1, "control the SmoothDesk helper from a terminal")
    lines += _synopsis("smoothdeskctl", p, "")
    lines += [".SH DESCRIPTION", roff(p.description or "")]
    lines += [".SH OPTIONS"] + [x for a in options(p) for x in _opt_item(a)]
    lines += [".SH COMMANDS"]
    for name, help_text, sub in subcommands(p):
        lines += _command(p, name, help_text, sub)
    lines += [
        ".SH EXIT STATUS",
        roff("0 on success, 1 when the helper refused or failed (the message says why), 2 on bad usage."),
    ]
    lines += _see_also("smoothdesk-helper(8)", "smoothdesk(1)", "smoothdesk.conf(5)")
    return "\n".join(lines) + "\n"


def _command(
    top: argparse.ArgumentParser, name: str, help_text: str, sub: argparse.ArgumentParser
) -> list[str]:
    nested = subcommands(sub)
    if nested:
        return [x for n, h, s in nested for x in _command(top, f"{name} {n}", h, s)]
    own = [a for a in options(sub) if not is_global(a, top)]
    args = " ".join(
        (f"[{a.option_strings[0]}" + (f" {metavar(a)}]" if metavar(a) else "]"))
        if a.option_strings
        else (f"[{metavar(a)}]" if a.nargs == "?" else metavar(a))
        for a in own
    )
    lines = [".SS " + roff(f"{name} {args}".strip()), roff(help_text)]
    for action in own:
        lines += [".RS", *_opt_item(action), ".RE"]
    return lines


def tray_page() -> str:
    p = tray_parser()
    lines = _header("smoothdesk", 1, "SmoothDesk tray icon, windows and session agent")
    lines += _synopsis("smoothdesk", p)
    lines += [
        ".SH DESCRIPTION",
        roff(p.description or ""),
        ".PP",
        roff(
            "The tray icon's colour tells the desktop's responsiveness. As the session agent it "
            "reports the focused window and the processes playing audio to the helper, which cannot "
            "see the person's display or sound server. Its menu enables starting on login."
        ),
    ]
    lines += [".SH OPTIONS"] + [x for a in options(p) for x in _opt_item(a)]
    lines += _see_also("smoothdeskctl(1)", "smoothdesk-helper(8)")
    return "\n".join(lines) + "\n"


def conf_page() -> str:
    lines = _header("smoothdesk.conf", 5, "SmoothDesk helper settings")
    lines += [
        ".SH SYNOPSIS",
        "/usr/share/smoothdesk/config.toml, /etc/smoothdesk/config.toml, ~/.config/smoothdesk/config.toml",
        ".SH DESCRIPTION",
        roff(
            "TOML files read in this order, each overriding the one before: the vendor defaults "
            "(replaced on upgrade, do not edit), the administrator's file, and in user mode the "
            "user's own file. A value of the wrong type or out of range is an error that names the "
            "file and line; the helper then keeps its previous settings."
        ),
    ]
    for section in SECTIONS:
        lines += [".SH " + roff(f"[{section}]")]
        for opt in (o for o in OPTIONS if o.section == section):
            lines += _conf_item(opt)
    lines += _see_also("smoothdesk-helper(8)", "smoothdeskctl(1)")
    return "\n".join(lines) + "\n"


def _conf_item(opt: Option, *, field: bool = False) -> list[str]:
    if opt.section in TABLE_ARRAYS and not field:
        _, fields, _ = TABLE_ARRAYS[opt.section]
        lines = [
            ".TP",
            f"\\fB[[{roff(opt.section)}]]\\fR",
            roff(opt.description),
        ]
        for entry in fields:
            lines += [".RS", *_conf_item(entry, field=True), ".RE"]
        return lines
    default = "" if opt.default is None else f" (default: {toml_value(opt.default)})"
    return [
        ".TP",
        f"\\fB{roff(opt.key)}\\fR = \\fI{roff(opt.type.__name__)}\\fR{roff(default)}",
        roff(explain(opt)),
    ]


MAN_PAGES = {
    "man8/smoothdesk-helper.8": helper_page,
    "man1/smoothdeskctl.1": ctl_page,
    "man1/smoothdesk.1": tray_page,
    "man5/smoothdesk.conf.5": conf_page,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("man", "completions"))
    ap.add_argument("outdir", type=Path)
    args = ap.parse_args(argv)
    for rel, render in (MAN_PAGES if args.what == "man" else COMPLETIONS).items():
        path = args.outdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
