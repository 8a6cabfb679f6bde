"""Making a node home and copying its database: the work behind ``init`` and ``db backup``.

A new home gets its key (mode 0600), an empty migrated database and its config,
in that order, into a folder of mode 0700 (it will hold personal data); the
config comes last because a config is what makes a folder count as a home.
Backup and rebuild first run SQLite's integrity check: a damaged database is
neither copied as if it were a good backup nor replayed as if it were whole. A
backup uses SQLite's online backup, so writes during the copy are neither lost
nor half-copied, into a temporary file created 0600 that is fsynced and renamed
to a target that must not exist yet: a kill or a full disk never leaves a
partial file under the backup's name. Restoring is node.restore.
"""

from __future__ import annotations

import io
import os
import sqlite3
import tarfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from node import log_guard
from node.clock import wall_ms
from node.config_schema import parse_address
from node.db import check_integrity, connect, snapshot
from node.home import Config, Home
from node.store import NodeStore, migrate
from node.text import check_text
from pki.division import require_known
from pki.errors import EnvironmentProblem, InputError
from pki.keys import generate_key, load_private_key, save_private_key

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
    """Copy the live database to ``target`` (node.db.snapshot: temporary file, fsync, rename,
    mode 0600); returns the division and the live file's size."""
    _refuse_existing(target)
    store = NodeStore.open(home)
    try:
        check_integrity(store.db, home.db_path)
        snapshot(store.db, target, BACKUP_MODE)
        _record_backup(store, target)
    finally:
        store.close()
    return store.division, home.db_path.stat().st_size


def _record_backup(store: NodeStore, target: Path) -> None:
    """Note a finished backup. After the copy, so a backup's own table does not claim
    itself; doctor and the metrics read the age of the newest backup from here."""
    with store.transaction():
        migrate_backups(store.db)
        store.db.execute("INSERT INTO backups VALUES (?, ?, ?)",
                         (wall_ms(), str(target), target.stat().st_size))


def migrate_backups(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS backups (at_ms INTEGER NOT NULL, path TEXT NOT NULL,"
               " bytes INTEGER NOT NULL)")


def backup_home(home: Home, target: Path, passphrase: bytes | None = None) -> tuple[str, int]:
    """A whole-home backup (tar.gz, 0600): config, certificates, marker and the database.

    The private key goes in only when ``passphrase`` is given, and then as
    node.key.enc (PKCS#8 encrypted with it), never in the clear; the files are
    staged beside the target and renamed into place like node.db.snapshot.
    Returns the division and the size of the archive.
    """
    _refuse_existing(target)
    store = NodeStore.open(home)
    staged = target.with_name(f".{target.name}.{os.getpid()}.db")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        check_integrity(store.db, home.db_path)
        snapshot(store.db, staged, BACKUP_MODE)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE))
        with tarfile.open(tmp, "w:gz") as archive:
            for path in _home_files(home):
                archive.add(path, arcname=str(path.relative_to(home.path)))
            archive.add(staged, arcname=DB_NAME)
            if passphrase is not None:
                _add_bytes(archive, ENCRYPTED_KEY, encrypted_key(home, passphrase))
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
        _record_backup(store, target)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write home backup {target}: {exc.strerror or exc}"
                                 ) from exc
    finally:
        store.close()
        staged.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return store.division, target.stat().st_size


#: What a full backup carries besides node.db, relative to the home; never a private key.
HOME_FILES = ("tongban.toml", "node.crt", "chain.pem", "root.crt", "node.csr",
              log_guard.MARKER)
DB_NAME = "node.db"
ENCRYPTED_KEY = "node.key.enc"


def _home_files(home: Home) -> list[Path]:
    found = [home.path / name for name in HOME_FILES if (home.path / name).is_file()]
    if home.old_keys_dir.is_dir():
        found.extend(sorted(home.old_keys_dir.glob("*.crt")))
    return found


def encrypted_key(home: Home, passphrase: bytes) -> bytes:
    if not passphrase:
        raise InputError("the passphrase for the key in a home backup must not be empty")
    return load_private_key(home.key_path).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase))


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = BACKUP_MODE
    archive.addfile(info, io.BytesIO(data))


def _refuse_existing(target: Path) -> None:
    if target.exists():
        raise InputError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise EnvironmentProblem(f"cannot create backup {target}: no folder {target.parent}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rebuild(home: Home, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild every projection from the log; returns the number of records replayed."""
    store = NodeStore.open(home)
    try:
        check_integrity(store.db, home.db_path)
        return store.rebuild(progress)
    finally:
        store.close()
