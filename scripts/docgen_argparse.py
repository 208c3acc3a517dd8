"""What docgen.py reads from an argparse parser: its documented arguments and subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Iterator


def options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The documented optional and positional arguments (not --help, not SUPPRESSed ones)."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        yield action


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand, in the order they were added."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help or "" for c in action._choices_actions}
            out.extend((name, helps.get(name, ""), sub) for name, sub in action.choices.items())
    return out


def metavar(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices and not action.metavar:
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    if isinstance(action.metavar, str):
        return action.metavar
    return action.dest.upper()
