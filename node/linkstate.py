"""What the operator needs to know about the link upward, kept in the node database.

Written after every exchange attempt by ``serve`` and ``sync``; read by ``status``,
``doctor`` and the metrics.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, fields


@dataclass
class LinkState:
    parent: str = ""
    address: str = ""
    state: str = "never tried"       # up, down, refused, never tried
    last_attempt_ms: int | None = None
    last_success_ms: int | None = None
    last_error: str = ""
    throughput_bps: float = 0.0      # measured payload bytes per second, last exchange
    bytes_sent: int = 0              # on the last exchange, before gzip
    bytes_received: int = 0
    wire_bps: float = 0.0            # the same rate in compressed bytes: what the link carries
    wire_bytes_sent: int = 0         # on the last exchange, gzip-compressed as sent
    wire_bytes_received: int = 0
    exchange_seconds: float = 0.0    # duration of the last exchange that completed
    failures: int = 0                # consecutive failed attempts since the last success
    #: parent's clock minus ours, from the wall time in its Hello answer on the last
    #: exchange (sync.uplink), wrong by at most clock_uncertainty_ms: half the round trip
    clock_offset_ms: int | None = None
    clock_uncertainty_ms: int | None = None

    @property
    def is_down(self) -> bool:
        """Down or refused: configured but not working (never tried counts as not down)."""
        return self.state in ("down", "refused")


_COLUMNS = {"parent": "TEXT", "address": "TEXT", "state": "TEXT", "last_attempt_ms": "INTEGER",
            "last_success_ms": "INTEGER", "last_error": "TEXT", "throughput_bps": "REAL",
            "bytes_sent": "INTEGER", "bytes_received": "INTEGER", "wire_bps": "REAL",
            "wire_bytes_sent": "INTEGER", "wire_bytes_received": "INTEGER",
            "exchange_seconds": "REAL", "failures": "INTEGER",
            "clock_offset_ms": "INTEGER", "clock_uncertainty_ms": "INTEGER"}


_NULLABLE = {"last_attempt_ms", "last_success_ms", "clock_offset_ms", "clock_uncertainty_ms"}


def migrate(db: sqlite3.Connection) -> None:
    """Creates the one-row table; adds columns a node made before them lacks."""
    db.execute("CREATE TABLE IF NOT EXISTS link_state (id INTEGER PRIMARY KEY CHECK (id = 1))")
    have = {row[1] for row in db.execute("PRAGMA table_info(link_state)")}
    for name, kind in _COLUMNS.items():
        if name not in have:
            db.execute(f"ALTER TABLE link_state ADD COLUMN {name} {kind}")


def load(db: sqlite3.Connection) -> LinkState:
    migrate(db)
    names = [f.name for f in fields(LinkState)]
    row = db.execute(f"SELECT {', '.join(names)} FROM link_state WHERE id = 1").fetchone()
    if not row:
        return LinkState()
    # Columns added to an existing row read NULL: those that are not optional take defaults.
    defaults = LinkState()
    return LinkState(*(getattr(defaults, n) if v is None and n not in _NULLABLE else v
                       for n, v in zip(names, row, strict=True)))


def save(db: sqlite3.Connection, state: LinkState) -> None:
    values = asdict(state)
    db.execute(f"INSERT OR REPLACE INTO link_state (id, {', '.join(values)}) VALUES (1, "
               f"{', '.join('?' for _ in values)})", tuple(values.values()))
