"""Rule files on disk: the layered directories, reading them, and the user rules file writer.

Layers, lowest priority first: /usr/share/smoothdesk/rules.d (or the package data's
rules.d, the repository's resources/rules.d in a checkout), /etc/smoothdesk/rules.d, then in user mode
$XDG_CONFIG_HOME/smoothdesk/rules.d. Within a directory the ``*.toml`` files load in name
order. ananicy-cpp directories load before all of them, so SmoothDesk's own rules win.
Parsing and merging are the policy package's (pure); this module only finds and reads files.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from smoothdesk.config.resources import resource_dir
from smoothdesk.core.matchers import MATCHER_KEYS
from smoothdesk.policy.ananicy import kind_of, parse_ananicy
from smoothdesk.policy.errors import RuleError
from smoothdesk.policy.rule_parse import parse_toml_rules, rules_from_table
from smoothdesk.policy.rules import Diagnostic, Severity
from smoothdesk.policy.ruleset import RuleSet, RuleSetBuilder

VENDOR_RULES_DIR = Path("/usr/share/smoothdesk/rules.d")
ADMIN_RULES_DIR = Path("/etc/smoothdesk/rules.d")
ANANICY_DIR = Path("/etc/ananicy.d")
# The package data: the repository's resources/rules.d in a checkout, a copy in a wheel.
REPO_RULES_DIR = resource_dir("rules.d")
USER_RULES_FILE = "90-user.toml"


@dataclass(slots=True)
class LoadResult:
    """The merged rule set, every problem found on the way, and the files that were read."""

    ruleset: RuleSet
    diagnostics: list[Diagnostic]
    files: list[Path] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        """True when no rule or file was lost to an error (warnings allowed)."""
        return not self.errors

    def summary(self) -> str:
        counts = {s: sum(d.severity is s for d in self.diagnostics) for s in Severity}
        return (
            f"{len(self.ruleset)} rules from {len(self.files)} files: "
            f"{counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings"
        )


def user_rules_dir() -> Path:
    return Path(platformdirs.user_config_dir("smoothdesk")) / "rules.d"


def user_rules_file() -> Path:
    """Where add_user_rule writes by default ("set-class --always")."""
    return user_rules_dir() / USER_RULES_FILE


def default_rule_dirs(user_mode: bool) -> list[Path]:
    """The TOML layers, lowest priority first; the user layer only in user mode."""
    vendor = VENDOR_RULES_DIR if VENDOR_RULES_DIR.is_dir() else REPO_RULES_DIR
    dirs = [vendor, ADMIN_RULES_DIR]
    if user_mode:
        dirs.append(user_rules_dir())
    return dirs


def toml_files(directory: Path) -> list[Path]:
    """The ``*.toml`` files of one layer in name order; a file path stands for itself."""
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".toml" and p.is_file())


def ananicy_files(directory: Path) -> list[Path]:
    """.rules, .types and .cgroups files under `directory`, recursively, by relative path."""
    if directory.is_file():
        return [directory] if kind_of(directory.name) else []
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(Path(root) / f for f in files if kind_of(f))
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def read_rule_file(path: Path) -> tuple[str | None, list[Diagnostic]]:
    """The text of a file, or None if unreadable; a bad byte costs only its own line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(str(path), None, Severity.ERROR, f"cannot read: {exc.strerror}")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        diag = Diagnostic(str(path), line, Severity.ERROR, "not valid UTF-8")
        return data.decode("utf-8", errors="replace"), [diag]


def load_rules(dirs: Sequence[Path], ananicy_dirs: Sequence[Path] = ()) -> LoadResult:
    """Load ananicy-cpp directories, then the TOML layers, into one rule set."""
    builder = RuleSetBuilder()
    files: list[Path] = []
    batches = [(ananicy_files(Path(d)), True) for d in ananicy_dirs]
    batches += [(toml_files(Path(d)), False) for d in dirs]
    for paths, is_ananicy in batches:
        for path in paths:
            text, problems = read_rule_file(path)
            builder.diagnostics.extend(problems)
            files.append(path)
            if text is None:
                continue
            parse = parse_ananicy if is_ananicy else parse_toml_rules
            builder.add(parse(text, str(path)))
    ruleset = builder.build()
    return LoadResult(ruleset, builder.diagnostics, files)


def check_rules(
    dirs: Sequence[Path] | None = None,
    ananicy_dirs: Sequence[Path] = (),
    *,
    user_mode: bool = True,
) -> LoadResult:
    """What `smoothdeskctl rules check [--ananicy DIR]` reports; default layers if no dirs."""
    return load_rules(default_rule_dirs(user_mode) if dirs is None else dirs, ananicy_dirs)


def _identity(table: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    def norm(value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    return tuple((k, norm(table[k])) for k in MATCHER_KEYS if k in table)


def _read_user_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        # Never rewrite a file we cannot read back: that would lose the rules in it.
        raise RuleError(f"not updated, fix its syntax first: {exc}", str(path)) from None
    if not isinstance(data.get("rule", []), list):
        raise RuleError("not updated: 'rule' is not an array of tables", str(path))
    return data


def _write_atomically(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            tomli_w.dump(dict(data), out)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes 0600; a rules file is not secret and `rules check` runs unprivileged.
        tmp.chmod(path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def add_user_rule(rule: Mapping[str, Any], path: Path | None = None) -> Path:
    """Add a [[rule]] table to the user rules file, replacing one with the same matchers.

    The rule is validated first (RuleError). Other rules and types are kept; comments in the
    file are not, since it is rewritten from its parsed form. The write is atomic.
    """
    path = path or user_rules_file()
    table = dict(rule)
    rules_from_table(table, str(path), None)
    data = _read_user_file(path)
    tables: list[Any] = list(data.get("rule", []))
    wanted = _identity(table)
    for i, old in enumerate(tables):
        if isinstance(old, dict) and _identity(old) == wanted:
            tables[i] = table
            break
    else:
        tables.append(table)
    data["rule"] = tables
    _write_atomically(path, data)
    return path


def remove_user_rule(matchers: Mapping[str, Any], path: Path | None = None) -> int:
    """Remove the rules whose matchers are exactly `matchers`; return how many went."""
    path = path or user_rules_file()
    data = _read_user_file(path)
    tables: list[Any] = list(data.get("rule", []))
    wanted = _identity(matchers)
    kept = [t for t in tables if not (isinstance(t, dict) and _identity(t) == wanted)]
    removed = len(tables) - len(kept)
    if removed:
        data["rule"] = kept
        _write_atomically(path, data)
    return removed
