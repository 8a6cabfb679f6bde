"""Never a second log under one identity: when a node must not write until it has recovered.

A node's key signs every checkpoint of its log. If the database stops holding
what that key signed (node.db empty or table-less after a bad copy, a backup
put back, a file shorter than what the parent holds), the next write would
sign a second log that forks the first under the same identity, and reissue
sequence numbers, so case numbers, already given to citizens. So writes are
refused, with one line saying why and what to run, until ``tongban recover``
(node.recovery) has fetched the log back, from the parent or, for the national
node, which has none, from a child (``recovery_hint``); reads keep working.

Three things tell that the key has signed more than the file holds:
- ``log-started``, a small file (0600) written beside node.db once the first
  own write is committed, and raised to the own log's size after every own
  write (after its commit, so it never claims more than was committed): with
  it, an empty own log is a lost log, never a new one (a node fresh from
  ``init`` has not written and has no marker), and an older copy of node.db
  put back by hand is refused before its first write reissues a case number
  (unsigned ones included), not only at the next exchange;
- the newest own checkpoint or receipt held in the database beyond its records;
- a row in ``log_guard``, put there by ``db restore`` (a backup is older than
  the log by definition) and whenever the parent reports, in Hello or in a
  reply bundle, more of this node's log than the file holds.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time

from node.home import Home
from pki.division import NATIONAL
from pki.errors import EnvironmentProblem, Error, InputError
from pki.files import PRIVATE_MODE, write_atomic
from sync.log import LogStore

MARKER = "log-started"


class LogBehind(Error):
    """Own writes refused: the node's key signed more of its log than node.db holds."""


def migrate(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS log_guard ("
        " origin TEXT PRIMARY KEY, reason TEXT NOT NULL, want_size INTEGER NOT NULL,"
        " since_ms INTEGER NOT NULL)")


def marked_size(home: Home) -> int | None:
    """The own log size ``log-started`` says this node wrote; None without a marker, 0 for
    a marker from before sizes were kept (it says only that writing began)."""
    try:
        words = (home.path / MARKER).read_text(encoding="utf-8", errors="replace").split()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {home.path / MARKER}: {exc.strerror}") from exc
    return int(words[1]) if len(words) > 1 and words[1].isdigit() else 0


def note_size(home: Home, division: str, size: int) -> None:
    """Raise ``log-started`` to ``size`` (never lower it); call after the commit.

    The first marker is written durably. Later raises are replaced atomically
    but not fsync'd: one per clerk action, and a raise lost in a power cut
    only leaves the marker lower than the truth (less protection, never a
    false refusal); a torn file reads as "writing began".
    """
    known = marked_size(home)
    if known is not None and known >= size:
        return
    path = home.path / MARKER
    text = f"{division} {size}\n".encode()
    if known is None:
        with contextlib.suppress(InputError):  # written meanwhile by a concurrent command
            write_atomic(path, text, mode=PRIVATE_MODE, replace=False, what="log marker")
        return
    tmp = path.with_name(f".{MARKER}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write log marker {path}: {exc.strerror}") from exc


def accept_loss(home: Home, division: str, size: int) -> None:
    """The operator's word that records past ``size`` are lost for good: lower the marker."""
    write_atomic(home.path / MARKER, f"{division} {size}\n".encode(), mode=PRIVATE_MODE,
                 what="log marker")


def hold(db: sqlite3.Connection, origin: str, reason: str, want_size: int) -> None:
    """Refuse own writes until recovery; the caller holds the transaction."""
    db.execute(
        "INSERT INTO log_guard (origin, reason, want_size, since_ms) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (origin) DO UPDATE SET reason = excluded.reason,"
        " want_size = max(want_size, excluded.want_size)",
        (origin, reason, want_size, int(time.time() * 1000)))


def why_refused(home: Home, db: sqlite3.Connection, division: str) -> str | None:
    """The reason own writes are refused now, or None; read-only."""
    log = LogStore(db)
    size = log.size(division)
    row = db.execute("SELECT reason, want_size FROM log_guard WHERE origin = ?",
                     (division,)).fetchone()
    if row is not None:
        reason, want = row
        return (f"{reason} (node.db holds {size} records of {division}'s log"
                + (f", at least {want} were signed" if want > size else "") + ")")
    marked = marked_size(home)
    if marked is not None and (size == 0 or marked > size):
        return (f"this node has written {marked or 'some'} records of its log "
                f"({home.path / MARKER} says so), but node.db holds {size}: it is empty or "
                "an older copy")
    signed = max([c.size for c in [log.latest_checkpoint(division)] if c]
                 + [r.size for r in [log.latest_receipt(division)] if r], default=0)
    if signed > size:
        return f"node.db holds {size} records of {division}'s log, but size {signed} was signed"
    return None


def held(db: sqlite3.Connection, origin: str) -> bool:
    """True while a ``log_guard`` row holds own writes (a restore, a parent ahead)."""
    return db.execute("SELECT 1 FROM log_guard WHERE origin = ?", (origin,)).fetchone() \
        is not None


#: the command that asks a child, as the hints spell it
FROM_CHILD = "tongban recover --from-child DIVISION --address HOST:PORT"


def recovery_hint(home: Home, division: str) -> str:
    """The next step that works for this node: asking the parent, or a child when there is
    no parent to ask (the national node; a node with no parent_address, whose parent's
    reply bundle would also do)."""
    if division == NATIONAL:
        return (f"run '{FROM_CHILD}' to fetch it back from a child's 'tongban serve' "
                "(every child holds the national log)")
    if not home.load_config().parent_address:
        return (f"run '{FROM_CHILD}' to fetch it back from a child's 'tongban serve', or set "
                "parent_address and run 'tongban recover', or import the parent's reply "
                "bundle")
    return ("run 'tongban recover' to fetch the log back from the parent, or import the "
            "parent's reply bundle")


def check_writable(home: Home, db: sqlite3.Connection, division: str) -> None:
    """Raise LogBehind with the one line an operator needs, or return."""
    reason = why_refused(home, db, division)
    if reason is not None:
        raise LogBehind(f"writes refused: {reason}; {recovery_hint(home, division)}; reads "
                        "keep working")


def confirm(db: sqlite3.Connection, division: str, parent_sizes: dict[str, int]) -> None:
    """What the parent holds of our own log decides: hold writes, or release a held guard.

    The caller holds the transaction and has already pulled back whatever the
    parent offered, so a parent still ahead means recovery did not get it all.
    """
    size = LogStore(db).size(division)
    parent = parent_sizes.get(division, 0)
    if parent > size:
        hold(db, division, f"the parent holds {parent} records of this node's log", parent)
        return
    row = db.execute("SELECT want_size FROM log_guard WHERE origin = ?",
                     (division,)).fetchone()
    if row is not None and size >= row[0]:
        db.execute("DELETE FROM log_guard WHERE origin = ?", (division,))
