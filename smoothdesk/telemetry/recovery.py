"""Opening the snapshot log: version and health checks, and moving a broken file aside (never deleting)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from smoothdesk.telemetry.schema import SCHEMA_VERSION, StoreError, migrate, user_version

SQLITE_MAGIC = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")


class Unusable(Exception):
    """The file exists but cannot serve as the log (corrupt or locked): move it aside."""


def header_version(path: Path) -> int | None:
    """user_version from the file header (offset 60), read without opening SQLite; None if no header."""
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return None
    return int.from_bytes(header[60:64], "big")


def refuse_newer(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: snapshot log has schema version {version}, newer than this SmoothDesk's "
            f"{SCHEMA_VERSION}; left untouched (upgrade SmoothDesk or choose another store.path)"
        )


def _reason(exc: sqlite3.Error) -> str | None:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"locked by another process beyond the timeout ({exc})"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return f"corrupt ({exc})"
    return None


def _check(path: Path, lock_timeout: float) -> None:
    """Version and quick_check through a read-only connection, which never writes on close.

    (A read-write connection checkpoints on close and bumps the header's change counter, so a
    corrupt file would no longer be moved aside exactly as it was found.)
    """
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", timeout=lock_timeout, uri=True)
    try:
        refuse_newer(path, user_version(conn))
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise Unusable(f"failed its integrity check ({'; '.join(problems)})")
    finally:
        conn.close()


def connect(path: Path, lock_timeout: float) -> sqlite3.Connection:
    """Check, open and migrate; raise Unusable (corrupt/locked), StoreError (anything else)."""
    try:
        if path.exists() and path.stat().st_size > 0:
            _check(path, lock_timeout)
        conn = sqlite3.connect(path, timeout=lock_timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        reason = _reason(exc)
        if reason is None:
            raise StoreError(f"{path}: cannot open: {exc}") from exc
        raise Unusable(reason) from exc
    except OSError as exc:
        raise StoreError(f"{path}: cannot open: {exc.strerror}") from exc
    try:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect only on a new file
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"{path}: cannot switch to WAL mode (journal_mode stays {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        refuse_newer(path, user_version(conn))
        migrate(conn)
        # Reads work beside another writer in WAL mode; this proves we can write too.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.close()
        reason = _reason(exc)
        if reason is None:
            raise StoreError(f"{path}: {exc}") from exc
        raise Unusable(reason) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def move_aside(path: Path) -> Path:
    """Rename the file and its WAL/SHM side files to `<name>.corrupt-<UTC stamp>[-n]`.

    The side files go too: a stale -wal beside a fresh database would be replayed into it.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 0
    while any(Path(f"{target}{s}").exists() for s in ("", *SIDE_FILES)):
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(target)
        for suffix in SIDE_FILES:
            side = Path(f"{path}{suffix}")
            if side.exists():
                side.rename(f"{target}{suffix}")
    except OSError as exc:
        raise StoreError(f"{path}: unusable and cannot be moved aside: {exc.strerror}") from exc
    return target


def open_or_replace(path: Path, lock_timeout: float) -> tuple[sqlite3.Connection, list[str]]:
    """A ready connection, and what had to be done to get it (empty when the file was fine)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create its directory: {exc.strerror}") from exc
    version = header_version(path)
    if version is not None:
        refuse_newer(path, version)
    try:
        return connect(path, lock_timeout), []
    except Unusable as exc:
        aside = move_aside(path)
        problem = f"{path}: {exc}; moved aside to {aside.name} and started a fresh log"
    try:
        return connect(path, lock_timeout), [problem]
    except Unusable as exc:
        raise StoreError(f"{path}: the fresh log is unusable too: {exc}") from exc
