"""Opening the node's SQLite file with the durability settings tongban promises.

WAL with synchronous=FULL: a transaction that returned from COMMIT has been
fsynced, so a command that printed success survives kill -9 and power loss.
"""

from __future__ import annotations

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
