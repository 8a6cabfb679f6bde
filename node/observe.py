"""The facts every operator tool reads: metrics, health, ``doctor`` and ``status``.

One place gathers them so the four cannot disagree about, say, how many
batches are in quarantine or when a certificate runs out.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

from cryptography import x509

from node import children, status
from node.cases import listing
from node.clock import today
from node.maintenance import migrate_backups
from node.store import NodeStore
from pki.certs import division_of

#: the problem kinds counted, each a table of refused or unexplained input
PROBLEM_TABLES = {"quarantine": "quarantine", "forks": "forks",
                  "projection": "projection_errors", "authority": "authority_violations"}


@dataclass
class CertExpiry:
    division: str
    role: str                # own, issuer, child
    not_after_ms: int
    seconds_left: float


@dataclass
class Facts:
    status: status.Status
    records_by_origin: dict[str, int]
    problems: dict[str, int]
    certs: list[CertExpiry]
    backup_age_seconds: float | None
    open_cases: dict[str, int] = field(default_factory=dict)   # by light: green, yellow, red


def _count(db: sqlite3.Connection, table: str) -> int:
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone()
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if exists else 0


def problems(db: sqlite3.Connection) -> dict[str, int]:
    return {kind: _count(db, table) for kind, table in PROBLEM_TABLES.items()}


def cert_expiries(store: NodeStore, now: float | None = None) -> list[CertExpiry]:
    now = time.time() if now is None else now

    def entry(cert: x509.Certificate, role: str) -> CertExpiry:
        end = cert.not_valid_after_utc.timestamp()
        return CertExpiry(division_of(cert), role, int(end * 1000), end - now)

    out: list[CertExpiry] = []
    if store.home.cert_path.exists():
        chain = store.home.cert_chain()
        out.append(entry(chain.cert, "own"))
        out += [entry(c, "issuer") for c in chain.issuers]
    for child in children.subtree(store):
        out.append(CertExpiry(child.division, "child", child.cert_expires_ms,
                              child.cert_expires_ms / 1000 - now))
    return out


def backup_age(db: sqlite3.Connection, now: float | None = None) -> float | None:
    migrate_backups(db)
    (newest,) = db.execute("SELECT max(at_ms) FROM backups").fetchone()
    return None if newest is None else (time.time() if now is None else now) - newest / 1000


def open_cases_by_light(store: NodeStore) -> dict[str, int]:
    """Cases not yet finished, as the hall's traffic lights count them."""
    lights = {"green": 0, "yellow": 0, "red": 0}
    for view in listing(store, today()).views:
        if view.remaining is None:
            continue
        light = "red" if view.overdue else "yellow" if view.due_soon else "green"
        lights[light] += 1
    return lights


def collect(store: NodeStore) -> Facts:
    return Facts(status.collect(store), dict(store.log.sizes()), problems(store.db),
                 cert_expiries(store), backup_age(store.db), open_cases_by_light(store))
