"""Making a node home and copying its database: the work behind ``init`` and ``db backup``.

A new home gets its key (mode 0600), an empty migrated database and its config,
in that order, into a folder of mode 0700 (it will hold personal data); the
config comes last because a config is what makes a folder count as a home.
Backup and rebuild first run SQLite's integrity check: a damaged database is
neither copied as if it were a good backup nor replayed as if it were whole. A
backup uses SQLite's online backup, so writes during the copy are neither lost
nor half-copied, into a file created 0600 that must not exist yet.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from node.clock import wall_ms
from node.config_schema import parse_address
from node.db import check_integrity, connect
from node.home import Config, Home
from node.store import NodeStore, migrate
from node.text import check_text
from pki.division import require_known
from pki.errors import EnvironmentProblem, InputError
from pki.keys import generate_key, save_private_key

HOME_MODE = 0o700
BACKUP_MODE = 0o600


def create_home(home: Home, config: Config) -> None:
    """Refuses a folder that already holds a node (or any part of one); changes nothing then."""
    require_known(config.division)
    if not config.name.strip():
        raise InputError("node name must not be empty")
    check_text(config.name, "node name")
    for what, address in (("--listen", config.listen_address),
                          ("--parent-address", config.parent_address)):
        if address:
            parse_address(address, what)
    if home.exists() or home.db_path.exists() or home.key_path.exists():
        raise InputError(f"{home.path} already holds a tongban node; nothing changed")
    home.path.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
    os.chmod(home.path, HOME_MODE)  # an existing folder keeps its mode otherwise
    save_private_key(generate_key(), home.key_path)
    db = connect(home.db_path, create=True)
    try:
        migrate(db)
    finally:
        db.close()
    home.save_config(config)


def backup(home: Home, target: Path) -> tuple[str, int]:
    """Copy the live database to ``target``; returns the division and the live file's size."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE)
    except FileExistsError as exc:
        raise InputError(f"{target} already exists; choose a new file name") from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create backup {target}: {exc.strerror}") from exc
    os.close(fd)
    try:
        store = NodeStore.open(home)
        check_integrity(store.db, home.db_path)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    copy = sqlite3.connect(target)
    try:
        store.db.backup(copy)
        # After the copy: the backup's own table does not claim itself; doctor and the
        # metrics read the age of the newest backup from here.
        with store.transaction():
            migrate_backups(store.db)
            store.db.execute("INSERT INTO backups VALUES (?, ?, ?)",
                             (wall_ms(), str(target), target.stat().st_size))
    finally:
        copy.close()
        store.close()
    return store.division, home.db_path.stat().st_size


def migrate_backups(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS backups (at_ms INTEGER NOT NULL, path TEXT NOT NULL,"
               " bytes INTEGER NOT NULL)")


def rebuild(home: Home, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild every projection from the log; returns the number of records replayed."""
    store = NodeStore.open(home)
    try:
        check_integrity(store.db, home.db_path)
        return store.rebuild(progress)
    finally:
        store.close()
