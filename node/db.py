"""Opening the node's SQLite file with the durability settings tongban promises.

WAL with synchronous=FULL: a transaction that returned from COMMIT has been
fsynced, so a command that printed success survives kill -9 and power loss.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pki.errors import EnvironmentProblem


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    if not create and not path.exists():
        raise EnvironmentProblem(f"no node database at {path}: run 'tongban init' first")
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        raise EnvironmentProblem(f"cannot open node database {path}: {exc}") from exc
    return db


def snapshot(db: sqlite3.Connection, target: Path, mode: int = 0o600) -> None:
    """A consistent copy of ``db`` at ``target``, never a partial file under that name.

    SQLite's online backup writes into a temporary file beside the target
    (created with ``mode``: the copy holds personal data), which is fsynced,
    checked to hold the log tables, then renamed into place and the folder
    fsynced. A kill or a full disk at any moment leaves either no file at
    ``target`` or the whole copy, and at worst a ``.tmp`` file the next run replaces.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        copy = sqlite3.connect(tmp)
        try:
            db.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            (tables,) = copy.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'records'").fetchone()
        finally:
            copy.close()
        if not tables:
            raise EnvironmentProblem(f"copy of the node database into {tmp} holds no log "
                                     "tables; nothing written at the target")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except (OSError, sqlite3.Error) as exc:
        raise EnvironmentProblem(f"cannot write database copy {target}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
