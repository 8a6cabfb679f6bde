"""The subtree below a node, as its operator sees it: every enrolled child and grandchild.

A node that was enrolled but never synced has an empty log here, so a view
built from logs would leave it out exactly when it most needs looking at.
The list therefore comes from certificates: those this node issued
(``pki issue`` records a CERT_ISSUED in its log, and children's issuing flows
up the same way) and those seen in Hellos and batches. Last contact is the
child's last Hello (``serve`` records it through the servicer's contact hook),
which a link that connects but fails to push still updates; last receipt is
our cosignature on its newest checkpoint.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass

from cryptography import x509

from node.store import NodeStore
from pki.certs import division_of, serial_hex
from pki.division import in_subtree


def migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS child_contacts (division TEXT PRIMARY KEY,"
               " last_contact_ms INTEGER NOT NULL, sizes TEXT NOT NULL)")


def record_contact(store: NodeStore, division: str, sizes: dict[str, int]) -> None:
    """A child said Hello: when, and how much of each subtree log it holds."""
    with store.transaction():
        migrate(store.db)
        store.db.execute("INSERT OR REPLACE INTO child_contacts VALUES (?, ?, ?)",
                         (division, int(time.time() * 1000), json.dumps(sizes, sort_keys=True)))


@dataclass
class ChildView:
    division: str
    issuer: str
    serial: str
    cert_expires_ms: int
    records: int                      # of its log held here
    reported: int | None              # the most any child said it holds of this log
    behind_records: int | None        # reported minus held: records not yet pushed up to us
    behind_seconds: float | None      # since our last receipt, while records are behind
    last_contact_ms: int | None       # its last Hello (direct children only)
    last_receipt_ms: int | None       # our cosignature on its newest checkpoint
    last_refusal_ms: int | None
    last_refusal: str
    problems: int                     # quarantined batches, forks, projection errors

    def to_dict(self) -> dict:
        return asdict(self)


def _enrolled(store: NodeStore) -> dict[str, x509.Certificate]:
    """The newest certificate of every division strictly below this node."""
    me = store.division
    found: dict[str, x509.Certificate] = {}
    rows = [*store.db.execute("SELECT der FROM certificates"),
            *store.db.execute("SELECT der FROM node_certs")]
    for (der,) in rows:
        cert = x509.load_der_x509_certificate(der)
        code = division_of(cert)
        if code == me or not in_subtree(me, code):
            continue
        held = found.get(code)
        if held is None or cert.not_valid_after_utc > held.not_valid_after_utc:
            found[code] = cert
    return found


def subtree(store: NodeStore, now_ms: int | None = None) -> list[ChildView]:
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    migrate(store.db)
    db, me = store.db, store.division
    contacts = {d: (at, json.loads(sizes)) for d, at, sizes in
                db.execute("SELECT division, last_contact_ms, sizes FROM child_contacts")}
    held = store.log.sizes()
    views = []
    for code, cert in sorted(_enrolled(store).items()):
        reported = max((sizes.get(code, 0) for _, sizes in contacts.values()
                        if code in sizes), default=None)
        records = held.get(code, 0)
        receipt = store.log.latest_receipt(code, me)
        receipt_ms = receipt.time_ms if receipt else None
        behind = max(0, reported - records) if reported is not None else None
        refusal = db.execute("SELECT received_ms, reason FROM quarantine WHERE peer = ? OR"
                             " origin = ? ORDER BY received_ms DESC LIMIT 1",
                             (code, code)).fetchone()
        problems = (db.execute("SELECT count(*) FROM quarantine WHERE origin = ?",
                               (code,)).fetchone()[0]
                    + db.execute("SELECT count(*) FROM forks WHERE origin = ?",
                                 (code,)).fetchone()[0]
                    + db.execute("SELECT count(*) FROM projection_errors WHERE origin = ?",
                                 (code,)).fetchone()[0])
        since = (now_ms - receipt_ms) / 1000 if behind and receipt_ms else None
        views.append(ChildView(
            code, division_of_issuer(cert), serial_hex(cert),
            int(cert.not_valid_after_utc.timestamp() * 1000), records, reported, behind, since,
            contacts[code][0] if code in contacts else None, receipt_ms,
            refusal[0] if refusal else None, refusal[1] if refusal else "", problems))
    return views


def division_of_issuer(cert: x509.Certificate) -> str:
    names = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""
