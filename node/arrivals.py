"""When each hand-over (a case addressed to this node) arrived here.

A fact of this node's, not of any log: the handler's first answer carries it
(``CaseEvent.arrived_ms``), so both ends show how long the case was in
transit. Kept in its own small table, created on first use, and not rebuilt
(it is not a projection).
"""

from __future__ import annotations

import sqlite3

from protos.tongban.v1 import record_pb2


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS handover_arrivals (origin TEXT NOT NULL,"
               " seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (origin, seq))")


def note(db: sqlite3.Connection, record: record_pb2.Record, division: str,
         now_ms: int) -> None:
    """Called as a delivery is stored: remember when a case addressed here arrived."""
    if record.kind == record_pb2.CASE_EVENT and record.recipient == division:
        _migrate(db)
        db.execute("INSERT OR IGNORE INTO handover_arrivals VALUES (?, ?, ?)",
                   (record.origin, record.seq, now_ms))


def arrived_ms(db: sqlite3.Connection, origin: str, seq: int) -> int | None:
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'handover_arrivals'"
                  ).fetchone() is None:
        return None
    row = db.execute("SELECT at_ms FROM handover_arrivals WHERE origin = ? AND seq = ?",
                     (origin, seq)).fetchone()
    return None if row is None else row[0]
