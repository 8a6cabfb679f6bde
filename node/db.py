"""Opening the node's SQLite file with the durability settings tongban promises.

WAL with synchronous=FULL: a transaction that returned from COMMIT has been
fsynced, so a command that printed success survives kill -9 and power loss.

The file holds citizens' names and ID numbers, so it is created 0600 before
SQLite first touches it (SQLite gives -wal and -shm the database's mode), and
a database found readable by others (a home made by an older tongban, a copy)
is narrowed to 0600 when opened for writing. ``check_integrity`` runs SQLite's
own page-by-page check: the commands that vouch for a database (backup,
rebuild, audit) call it first, so a damaged file is never reported as fine.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

from node.failures import damaged
from pki.errors import EnvironmentProblem

DB_MODE = 0o600


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    if not create and not path.exists():
        raise EnvironmentProblem(f"no node database at {path}: run 'tongban init' first")
    if create:
        _create_private(path)
    else:
        _narrow_mode(path)
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise damaged(path, str(exc)) from exc
        if _disk_full(path):
            raise EnvironmentProblem(f"cannot open node database {path}: the disk is full "
                                     "(free space, then retry; nothing was written)") from exc
        raise EnvironmentProblem(f"cannot open node database {path}: {exc}") from exc
    return db


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection for one thread (the servicer's snapshots, sync.replica): in
    WAL mode it reads the last commit without waiting for the writer."""
    try:
        # used by one thread, closed by the one that closes the store (NodeStore.reader)
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                             isolation_level=None, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA query_only=ON")
    except sqlite3.DatabaseError as exc:
        raise EnvironmentProblem(f"cannot open node database {path} to read: {exc}") from exc
    return db


def _disk_full(path: Path) -> bool:
    """SQLite says "disk I/O error" when it cannot grow the WAL; the disk says why."""
    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False


def check_integrity(db: sqlite3.Connection, path: object, *, quick: bool = False) -> None:
    """Raise DatabaseDamaged unless SQLite finds every page and index consistent.

    ``quick`` skips the check that indexes match their tables (quick_check): it
    is linear in the file's size rather than N log N, for the audit of a large
    database, and still reads every page.
    """
    pragma = "quick_check" if quick else "integrity_check"
    try:
        rows = db.execute(f"PRAGMA {pragma}(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise damaged(path, str(exc)) from exc
    if [r[0] for r in rows] != ["ok"]:
        raise damaged(path, "; ".join(str(r[0]) for r in rows))


def _create_private(path: Path) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DB_MODE))
    except FileExistsError:
        pass
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create node database {path}: {exc.strerror}") from exc


def _narrow_mode(path: Path) -> None:
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = part.stat()
            if info.st_mode & 0o077 and info.st_uid == os.getuid():
                os.chmod(part, stat.S_IMODE(info.st_mode) & DB_MODE)
        except OSError:
            continue  # absent, or not ours to change: SQLite reports what matters
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
