"""``tongban db restore``: put a backup back, safely, and hold writes until recovery.

A backup is older than the log by definition, so putting it back as node.db
by hand would let the next write reissue sequence (and case) numbers already
given out. Restoring instead checks the file first (SQLite integrity, the log
tables, a version not newer than this program, and that the home's
certificate signed the backup's own checkpoints, so a fresh ``init`` home
with another key is refused), stages it beside node.db with a ``log_guard``
row already in it, and renames it into place; then node.recovery fetches
anything newer from the parent (the national node, which has none, asks a
child afterwards: ``tongban recover --from-child``). A kill at any point
leaves either the old node.db or the restored one, never a mix: the old
file's WAL is checkpointed and removed before the rename.

A whole-home backup (node.maintenance.backup_home) restores into a missing
or empty home: config, certificates and, with the passphrase, the key.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from node import log_guard, projection
from node.home import Home
from node.maintenance import BACKUP_MODE, DB_NAME, ENCRYPTED_KEY, HOME_MODE
from node.recovery import Recovered, recover
from node.store import migrate, refuse_newer, schema_version
from pki.checkpoint import signing_certificate
from pki.division import NATIONAL
from pki.errors import EnvironmentProblem, InputError, VerificationError
from pki.files import PRIVATE_MODE, SourceUnreadable, stream_atomic, write_atomic
from pki.keys import private_key_pem
from sync.log import LogStore

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Restored:
    division: str
    own_size: int
    from_archive: bool


def restore(home: Home, source: Path, passphrase: bytes | None = None) -> Restored:
    """Check ``source`` (a db backup or a home backup) and install it as node.db, writes held."""
    staged = home.path / f".node.db.restore.{os.getpid()}"
    from_archive = _is_archive(source)
    if from_archive:
        _unpack_home(home, source, staged, passphrase)
    else:
        home.path.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
        _copy(source, staged)
    try:
        division, size = _check_and_hold(home, staged, source)
        _install(home, staged)
    finally:
        staged.unlink(missing_ok=True)
    return Restored(division, size, from_archive)


def _is_archive(source: Path) -> bool:
    try:
        with source.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read backup {source}: {exc.strerror}") from exc
    if head == SQLITE_MAGIC:
        return False
    if tarfile.is_tarfile(source):
        return True
    raise InputError(f"{source} is neither a node.db backup nor a home backup "
                     f"({len(head)} bytes, no SQLite or tar header): nothing changed")


#: The largest file besides node.db a home backup may carry (config, certificates, key).
MAX_HOME_FILE = 1 << 20


def _copy(source: Path, staged: Path) -> None:
    staged.unlink(missing_ok=True)
    with source.open("rb") as src:
        stream_atomic(staged, src, mode=BACKUP_MODE, what="staged database")


def _unpack_home(home: Home, source: Path, staged: Path, passphrase: bytes | None) -> None:
    """node.db to ``staged``; config, certificates and key only where the home lacks them."""
    try:
        with tarfile.open(source, "r:gz") as archive:
            members = archive.getmembers()
            if DB_NAME not in {m.name for m in members}:
                raise InputError(f"home backup {source} holds no {DB_NAME}: nothing changed")
            oversized = [m for m in members if m.name != DB_NAME and m.size > MAX_HOME_FILE]
            if oversized:   # judged from the headers, before anything is written
                raise InputError(f"home backup {source}: {oversized[0].name} is "
                                 f"{oversized[0].size} bytes, more than a home file ever is "
                                 f"({MAX_HOME_FILE}); nothing changed")
            fresh = not home.config_path.exists()
            home.path.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
            for member in members:
                if not member.isfile() or Path(member.name).is_absolute() or ".." in Path(
                        member.name).parts:
                    continue
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                if member.name == DB_NAME:
                    staged.unlink(missing_ok=True)
                    stream_atomic(staged, handle, mode=BACKUP_MODE, what="staged database")
                    continue
                data = handle.read()   # config, certificates, the key: a few kB each
                if member.name == ENCRYPTED_KEY:
                    if not home.key_path.exists():
                        _install_key(home, data, passphrase, source)
                elif fresh or not (home.path / member.name).exists():
                    target = home.path / member.name
                    target.parent.mkdir(mode=HOME_MODE, exist_ok=True)
                    write_atomic(target, data, mode=PRIVATE_MODE, what="restored file")
    except (tarfile.TarError, OSError, EOFError, SourceUnreadable) as exc:
        raise InputError(f"home backup {source} is damaged: {exc}; nothing changed") from exc
    if not home.key_path.exists():
        raise InputError(f"{home.path} has no node.key and {source} carries none: restore "
                         "the key (a backup made with --with-key) first; nothing changed")


def _install_key(home: Home, data: bytes, passphrase: bytes | None, source: Path) -> None:
    if not passphrase:
        raise InputError(f"{source} carries the key encrypted: give --passphrase-file")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except ValueError as exc:
        raise InputError(f"the passphrase does not open the key in {source}; nothing changed"
                         ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"the key in {source} is not a P-256 node key; nothing changed")
    write_atomic(home.key_path, private_key_pem(key), mode=PRIVATE_MODE, replace=False,
                 what="key file")


def _check_and_hold(home: Home, staged: Path, source: Path) -> tuple[str, int]:
    """Integrity, tables, version, signer; then the log_guard row inside the staged copy."""
    config = home.load_config()
    division = config.division
    try:
        db = sqlite3.connect(staged, isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"backup {source} does not open: {exc}; nothing changed") from exc
    try:
        try:
            (verdict,) = db.execute("PRAGMA integrity_check").fetchone()
            tables = {name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise InputError(f"backup {source} is not a readable database: {exc}; nothing "
                             "changed") from exc
        if verdict != "ok":
            raise InputError(f"backup {source} fails SQLite's integrity check ({verdict}); "
                             "nothing changed")
        if not {"records", "checkpoints", "projection_schema"} <= tables:
            raise InputError(f"backup {source} holds no log tables (a partial or empty copy); "
                             "nothing changed")
        refuse_newer(schema_version(db), f"backup {source}")
        (layout,) = db.execute("SELECT max(version) FROM projection_schema").fetchone()
        if layout is not None and layout > projection.SCHEMA:
            raise EnvironmentProblem(f"backup {source} has projections of a newer tongban "
                                     f"(layout {layout}); nothing changed")
        log = LogStore(db)
        _check_signer(home, db, log, division, source)
        size = log.size(division)
        migrate(db)  # an older backup: the source file itself is the copy from before
        db.execute("BEGIN IMMEDIATE")
        log_guard.hold(db, division, "restored from a backup, and the log may have grown "
                       "since it was made", size)
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode=DELETE")
    finally:
        db.close()
    return division, size


def _check_signer(home: Home, db: sqlite3.Connection, log: LogStore, division: str,
                  source: Path) -> None:
    """The home's certificate (or a rotated one) signed the backup's newest own checkpoint."""
    newest = log.latest_checkpoint(division)
    if newest is None:
        other = [o for (o,) in db.execute("SELECT DISTINCT origin FROM checkpoints")
                 if o != division]
        if other and not log.size(division):
            raise InputError(f"backup {source} holds no checkpoint of {division}: is it the "
                             "backup of another node? nothing changed")
        return
    candidates = home.installed_certs()[:1] + home.old_certs()
    if not candidates:
        raise InputError(f"{home.path} has no node certificate, so nothing shows that its key "
                         f"signed {source}: restore into the home the backup came from, or "
                         "from a home backup; nothing changed")
    try:
        signing_certificate(newest.note, candidates)
    except VerificationError as exc:
        raise InputError(f"backup {source} was signed by another key than this home's "
                         f"certificate ({exc}); nothing changed") from exc


def _install(home: Home, staged: Path) -> None:
    """Rename the staged copy over node.db, after emptying the old file's WAL into it."""
    wal = home.db_path.with_name(home.db_path.name + "-wal")
    shm = home.db_path.with_name(home.db_path.name + "-shm")
    if home.db_path.exists():
        with contextlib.suppress(sqlite3.DatabaseError):
            old = sqlite3.connect(home.db_path)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
    wal.unlink(missing_ok=True)
    shm.unlink(missing_ok=True)
    os.replace(staged, home.db_path)
    fd = os.open(home.path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RestoreOutcome:
    restored: Restored
    recovered: Recovered | None
    #: why the parent could not be asked (no address, link down), or ""
    not_recovered: str = ""


def restore_and_recover(home: Home, source: Path, passphrase: bytes | None = None,
                        progress: Callable[[str], None] | None = None) -> RestoreOutcome:
    """``restore``, then ask the parent for anything newer (node.recovery) when it is reachable."""
    restored = restore(home, source, passphrase)
    if restored.division == NATIONAL:
        return RestoreOutcome(restored, None, "the national node has no parent")
    if not home.load_config().parent_address:
        return RestoreOutcome(restored, None, "no parent_address configured")
    try:
        return RestoreOutcome(restored, recover(home, progress=progress))
    except EnvironmentProblem as exc:
        return RestoreOutcome(restored, None, exc.diagnostics())
