"""TOML loading with /usr/share -> /etc -> user layering, validated against the schema."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.schema import OPTIONS, SECTION_CHECKS, TABLE_ARRAYS, Option, Settings, defaults

_BY_KEY = {(o.section, o.key): o for o in OPTIONS}


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """tomllib reports no positions for valid-but-wrong values, so find the line ourselves."""
    in_section = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
        if header:
            in_section = header.group(1) == section
            if key is None and in_section:
                return number
            continue
        if in_section and key is not None and re.match(rf"^{re.escape(key)}\s*=", line):
            return number
    return None


def _coerce(opt: Option, value: Any) -> Any:
    if opt.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if opt.type is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return value
    if not isinstance(value, opt.type) or (opt.type is not bool and isinstance(value, bool)):
        raise ValueError(f"expected {opt.type.__name__}, got {type(value).__name__}")
    if opt.type in (int, float):
        number = float(cast(float, value))
        if opt.minimum is not None and number < opt.minimum:
            raise ValueError(f"must be >= {opt.minimum:g}")
        if opt.maximum is not None and number > opt.maximum:
            raise ValueError(f"must be <= {opt.maximum:g}")
    if opt.choices and value not in opt.choices:
        raise ValueError(f"must be one of {', '.join(opt.choices)}")
    return value


def _array_line(text: str, section: str, index: int, key: str | None) -> int | None:
    """Line of `key` in the index-th [[section]] table (its header line when key is None or absent)."""
    seen, header = -1, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("["):
            if seen == index:
                break
            if re.match(rf"^\[\[\s*{re.escape(section)}\s*\]\]", line):
                seen += 1
                header = number if seen == index else None
        elif header is not None and key is not None and re.match(rf"^{re.escape(key)}\s*=", line):
            return number
    return header


def _apply_array(settings: Settings, path: Path, text: str, section: str, entries: Any) -> None:
    """[[section]] tables, each checked field by field and as a whole; they replace earlier layers."""
    target, fields, check = TABLE_ARRAYS[section]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(
            path, f"write each {section} as a [[{section}]] table", _line_of(text, section, None)
        )
    known = {f.key: f for f in fields}
    out: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        label = f"[[{section}]] {entry.get(fields[0].key, f'#{index + 1}')!r}"
        for key in entry:
            if key not in known:
                raise ConfigError(
                    path, f"{label}: unknown key {key!r}", _array_line(text, section, index, key)
                )
        value: dict[str, Any] = {}
        for f in fields:
            where = _array_line(text, section, index, f.key)
            if f.key not in entry and f.default is None:
                raise ConfigError(path, f"{label}: {f.key} is required", where)
            try:
                value[f.key] = _coerce(f, entry[f.key]) if f.key in entry else f.default
            except ValueError as exc:
                raise ConfigError(path, f"{label}: {f.key}: {exc}", where) from None
        problem = check(value)
        if problem is not None:
            where = _array_line(text, section, index, problem[0])
            raise ConfigError(path, f"{label}: {problem[0]}: {problem[1]}", where)
        if any(other[fields[0].key] == value[fields[0].key] for other in out):
            where = _array_line(text, section, index, fields[0].key)
            raise ConfigError(path, f"{label}: a second {section} with this {fields[0].key}", where)
        value["source"] = f"{path}:{_array_line(text, section, index, None)}"
        out.append(value)
    settings.values[section][target] = out
    settings.origins[f"{section}.{target}"] = str(path)


def apply_file(settings: Settings, path: Path) -> None:
    """Merge one TOML file into settings; raise ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "not UTF-8 text") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, str(exc), int(match.group(1)) if match else None) from exc
    for section, table in data.items():
        if section in TABLE_ARRAYS:
            _apply_array(settings, path, text, section, table)
            continue
        if not isinstance(table, dict):
            raise ConfigError(path, f"{section!r} must be a table", _line_of(text, section, None))
        for key, value in table.items():
            opt = _BY_KEY.get((section, key))
            if opt is None:
                line = _line_of(text, section, key) or _line_of(text, section, None)
                raise ConfigError(path, f"unknown setting {section}.{key}", line)
            try:
                settings.values[section][key] = _coerce(opt, value)
            except ValueError as exc:
                line = _line_of(text, section, key)
                raise ConfigError(path, f"{section}.{key}: {exc}", line) from None
            settings.origins[f"{section}.{key}"] = str(path)
        check = SECTION_CHECKS.get(section)
        problem = check(settings.values[section]) if check is not None else None
        if problem is not None:
            # The file that completes a bad combination is named; the key's line, else the header.
            line = _line_of(text, section, problem[0]) or _line_of(text, section, None)
            raise ConfigError(path, problem[1], line)


def load_settings(files: Sequence[Path], explicit: Path | None = None) -> Settings:
    """Layer the existing files in order; an explicit --config file must exist and comes last."""
    settings = defaults()
    for path in files:
        if path.is_file():
            apply_file(settings, path)
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(explicit, "no such file")
        apply_file(settings, explicit)
    return settings
