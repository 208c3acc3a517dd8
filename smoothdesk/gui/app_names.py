"""Names a person recognises for an app group: its desktop entry, or the command they started."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

# Programs that only start another one: the person thinks of what they start.
WRAPPERS = frozenset(
    {"timeout", "nice", "ionice", "nohup", "time", "env", "stdbuf", "chrt", "taskset", "setsid",
     "sudo", "doas", "flock", "unbuffer", "systemd-inhibit", "xargs", "script", "caffeinate"}
)  # fmt: skip
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "busybox"})
_INTERPRETER = re.compile(r"^(python[0-9.]*|perl|ruby|node|lua[0-9.]*|php)$")
# A wrapper's own arguments: options, durations (timeout 60, 1.5m), env VAR=x, cpu masks, priorities.
_WRAPPER_ARG = re.compile(r"^(-.*|[0-9.]+[smhd]?|0x[0-9a-fA-F]+|[A-Za-z_][A-Za-z0-9_]*=.*|[0-9,-]+)$")
MAX_CHARS = 60


def _base(word: str) -> str:
    return PurePosixPath(word).name or word


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def command_text(argv: Sequence[str], depth: int = 0) -> str:
    """What the person typed, without wrappers: `timeout 600 make -j8` and `bash -c "make -j8"`
    both give "make -j8"; `bash ./build.sh x` gives "build.sh x"; a bare shell gives its name."""
    words = [w for w in argv if w != ""]
    while words and depth < 8:
        prog = _base(words[0])
        rest = words[1:]
        if prog in WRAPPERS:
            while rest and _WRAPPER_ARG.match(rest[0]):
                rest = rest[1:]
            if not rest:
                return prog
            words, depth = rest, depth + 1
            continue
        if prog in SHELLS or _INTERPRETER.match(prog):
            if "-c" in rest and rest.index("-c") + 1 < len(rest):
                script = rest[rest.index("-c") + 1]
                try:
                    inner = shlex.split(script)
                except ValueError:
                    return _shorten(script)
                if inner and not any(w in ("|", "&&", ";", "||") for w in inner):
                    return command_text(inner, depth + 1)
                return _shorten(script)
            args = [w for w in rest if not w.startswith("-")]
            # No script, or one read from a pipe (`bash <(curl ...)` runs /dev/fd/63): the shell it is.
            if not args or args[0].startswith(("/dev/fd/", "/proc/")):
                return prog
            first = rest.index(args[0])
            return _shorten(" ".join([_base(args[0]), *rest[first + 1 :]]))
        return _shorten(" ".join([prog, *rest]))
    return ""


def home_short(path: str, home: str | None = None) -> str:
    """`/home/ann/src/foo` as `~/src/foo` for the person whose home it is."""
    home = home if home is not None else str(Path("~").expanduser())
    if home and home != "/" and (path == home or path.startswith(home.rstrip("/") + "/")):
        return "~" + path[len(home.rstrip("/")) :]
    return path


def runs_a_program(app: Mapping[str, Any]) -> bool:
    """A process-tree group led by a shell, an interpreter or a wrapper: what it runs (a script, a
    build) is what the person knows it by, not the desktop entry of "Python" or "Bash"."""
    prog = _base(str(app.get("name") or ""))
    command = [str(w) for w in app.get("command") or []]
    leader = _base(command[0]) if command else prog
    generic = {prog, leader} & (WRAPPERS | SHELLS) or any(_INTERPRETER.match(p) for p in (prog, leader))
    return app.get("kind") == "tree" and bool(generic) and command_text(command) not in ("", prog, leader)


def build_title(app: Mapping[str, Any]) -> str:
    """A process-tree group (a build, a script) as its command; other groups keep their name."""
    command = [str(w) for w in app.get("command") or []]
    name = str(app.get("name", app.get("id", "?")))
    if app.get("kind") != "tree" or not command:
        return name
    return command_text(command) or name


def where_text(app: Mapping[str, Any]) -> str:
    """ "in ~/src/foo" for a process-tree group whose directory is known, else ""."""
    cwd = str(app.get("cwd") or "")
    if app.get("kind") != "tree" or not cwd or cwd == "/":
        return ""
    return f"in {home_short(cwd)}"
