"""What the operator needs to know about the link upward, kept in the node database.

Written after every exchange attempt by ``serve`` and ``sync``; read by ``status``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass


@dataclass
class LinkState:
    parent: str = ""
    address: str = ""
    state: str = "never tried"       # up, down, refused, never tried
    last_attempt_ms: int | None = None
    last_success_ms: int | None = None
    last_error: str = ""
    throughput_bps: float = 0.0      # measured payload bytes per second, last exchange
    bytes_sent: int = 0              # on the last exchange
    bytes_received: int = 0


def migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS link_state (id INTEGER PRIMARY KEY CHECK (id = 1),"
               " parent TEXT, address TEXT, state TEXT, last_attempt_ms INTEGER,"
               " last_success_ms INTEGER, last_error TEXT, throughput_bps REAL,"
               " bytes_sent INTEGER, bytes_received INTEGER)")


def load(db: sqlite3.Connection) -> LinkState:
    migrate(db)
    row = db.execute("SELECT parent, address, state, last_attempt_ms, last_success_ms,"
                     " last_error, throughput_bps, bytes_sent, bytes_received"
                     " FROM link_state WHERE id = 1").fetchone()
    return LinkState(*row) if row else LinkState()


def save(db: sqlite3.Connection, state: LinkState) -> None:
    values = asdict(state)
    db.execute(f"INSERT OR REPLACE INTO link_state (id, {', '.join(values)}) VALUES (1, "
               f"{', '.join('?' for _ in values)})", tuple(values.values()))
