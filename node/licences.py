"""Licences (电子证照): issue, list, show, revoke, export, and the national status relay.

Only the node that owns a case issues its licence, and only that node revokes
it (node.authority). A licence is one LICENCE_ISSUED record whose body
carries the sealed claims (node.licence_format), so the record in the log, the
export file and the QR code carry the same seal signature.

Revocation reaches everyone in two steps. A LICENCE_REVOKED record flows up
with the issuer's log to the national node, which holds every log; there
`tongban licence relay` (run on a timer) writes LICENCE_STATUS records naming
the revocations and the seal certificates issued since its last relay, and
those flow down to every node as part of an ancestor's log. See DESIGN.md,
"Licences".
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from cryptography import x509

from node import seals, workflow
from node.clock import wall_ms
from node.licence_format import Claims, licence_number, seal
from node.matters import current_matter
from node.projection import load_case
from node.store import Draft, NodeStore
from node.workdays import date_of_ms
from pki.certs import is_self_signed, load_certs
from pki.division import NATIONAL
from pki.errors import InputError
from protos.tongban.v1 import record_pb2
from sync.audit import caseproof
from sync.certstore import CertStore, der
from sync.receive import MAX_RECORD_BYTES

EXPORT_FORMAT = "tongban-licence/1"
#: A relay record stays well under the receive limit (one record per ~600 revocations).
_RELAY_BUDGET = MAX_RECORD_BYTES // 2


class LicenceError(InputError):
    pass


def _valid_to(issued: date, years: int) -> str:
    """The last valid day: the day before the same date ``years`` later; "" for 长期."""
    if years == 0:
        return ""
    try:
        end = issued.replace(year=issued.year + years)
    except ValueError:  # 29 February
        end = issued.replace(year=issued.year + years, day=28)
    return (end - timedelta(days=1)).isoformat()


def licence_for_case(db: sqlite3.Connection, case_no: str) -> str | None:
    row = db.execute("SELECT licence_id FROM licences WHERE case_no = ?", (case_no,)).fetchone()
    return row[0] if row else None


def offer(store: NodeStore, case_no: str) -> str | None:
    """What `case conclude` suggests: the licence this case is due, if not yet issued."""
    case = load_case(store.db, case_no)
    if case is None or case.decision != workflow.APPROVED:
        return None
    matter = current_matter(store.db, case.matter_code, case.matter_version, allow_retired=True)
    if not matter.HasField("result") or licence_for_case(store.db, case_no):
        return None
    return (f"this case produces a {matter.result.type_name} ({matter.result.type_code}): "
            f"tongban licence issue {case_no}")


def issue(store: NodeStore, case_no: str) -> Claims:
    """Seal and record the licence of an approved, concluded case of this node."""
    case = load_case(store.db, case_no)
    if case is None:
        raise LicenceError(f"no case {case_no} on this node")
    (owner,) = store.db.execute("SELECT origin FROM cases WHERE case_no = ?",
                                (case_no,)).fetchone()
    if owner != store.division:
        raise LicenceError(f"case {case_no} belongs to {owner}; only {owner} may issue its "
                           "licence")
    if case.state not in (workflow.State.CONCLUDED, workflow.State.DELIVERED) \
            or case.decision != workflow.APPROVED:
        raise LicenceError(f"case {case_no} is {workflow.LABELS[case.state]} "
                           f"(decision {case.decision or 'none'}): a licence is issued only "
                           "for an approved (准予) case after 办结")
    matter = current_matter(store.db, case.matter_code, case.matter_version, allow_retired=True)
    if not matter.HasField("result"):
        raise LicenceError(f"matter {matter.impl_code} issues no licence (its result is 无)")
    issued_before = licence_for_case(store.db, case_no)
    if issued_before:
        raise LicenceError(f"case {case_no} already has licence {issued_before}")
    key, seal_cert = seals.signing_seal(store, matter.body_uscc)
    issued = date_of_ms(wall_ms())
    made: list[Claims] = []

    def body(seq: int, _hlc: int) -> bytes:
        claims = Claims(
            licence_id=licence_number(matter.result.type_code, matter.body_uscc,
                                      store.division, seq),
            type_code=matter.result.type_code, type_name=matter.result.type_name,
            holder_id=case.applicant_id, holder_name=case.applicant_name,
            body_name=matter.body_name, body_uscc=matter.body_uscc,
            issue_date=issued.isoformat(), valid_from=issued.isoformat(),
            valid_to=_valid_to(issued, matter.result.valid_years), case_no=case_no,
            matter_code=matter.impl_code, node=store.division, seq=seq)
        made.append(claims)
        return record_pb2.Licence(licence_id=claims.licence_id,
                                  sealed=seal(claims, key, seal_cert),
                                  seal_certificate_der=der(seal_cert)).SerializeToString()

    store.write([Draft(record_pb2.LICENCE_ISSUED, body)])
    return made[-1]


_COLUMNS = ("licence_id", "origin", "seq", "type_code", "type_name", "holder_id", "holder_name",
            "body_uscc", "body_name", "issue_date", "valid_from", "valid_to", "case_no",
            "matter_code", "seal_serial")


@dataclass(frozen=True)
class LicenceRevocation:
    at_ms: int
    reason: str
    source: str  # the issuer's own record, or the national relay


def revocation(db: sqlite3.Connection, licence_id: str, issuer: str) -> LicenceRevocation | None:
    """The earliest revocation of ``licence_id`` this node holds that counts.

    It counts when the issuer wrote it, or when the national node relayed it.
    """
    row = db.execute(
        "SELECT revoked_at_ms, reason, origin, seq FROM licence_revocations"
        " WHERE licence_id = ? AND issuer = ? AND (origin = issuer OR origin = ?)"
        " ORDER BY revoked_at_ms LIMIT 1", (licence_id, issuer, NATIONAL)).fetchone()
    if row is None:
        return None
    at_ms, reason, origin, seq = row
    return LicenceRevocation(at_ms, reason, f"{origin}#{seq}")


def list_licences(db: sqlite3.Connection, holder: str | None = None,
                  type_code: str | None = None) -> list[dict]:
    """The 电子证照目录 of what this node holds, newest first."""
    query = f"SELECT {', '.join(_COLUMNS)} FROM licences WHERE 1 = 1"
    params: list = []
    if holder:
        query += " AND holder_id = ?"
        params.append(holder)
    if type_code:
        query += " AND type_code = ?"
        params.append(type_code)
    out = []
    for row in db.execute(query + " ORDER BY origin, seq DESC", params):
        item = dict(zip(_COLUMNS, row, strict=True))
        revoked = revocation(db, item["licence_id"], item["origin"])
        item["revoked"] = asdict(revoked) if revoked else None
        out.append(item)
    return out


def show(db: sqlite3.Connection, licence_id: str) -> dict:
    found = [i for i in list_licences(db) if i["licence_id"] == licence_id]
    if not found:
        raise LicenceError(f"no licence {licence_id} on this node: see 'tongban licence list'")
    return found[0]


def revoke(store: NodeStore, licence_id: str, reason: str) -> LicenceRevocation:
    item = show(store.db, licence_id)
    if item["origin"] != store.division:
        raise LicenceError(f"licence {licence_id} belongs to {item['origin']}; "
                           f"{store.division} may not revoke it")
    if item["revoked"]:
        raise LicenceError(f"licence {licence_id} is already revoked")
    if not reason.strip():
        raise LicenceError("a revocation needs a reason")
    draft = revocation_draft(licence_id, reason)
    store.write([draft])
    return LicenceRevocation(record_pb2.LicenceRevoked.FromString(draft.make_body(0, 0))
                             .revoked_at_ms, reason.strip(), store.division)


def revocation_draft(licence_id: str, reason: str) -> Draft:
    """The LICENCE_REVOKED record of one licence, to write alone or beside the case event
    that causes it (a 告知承诺 found false revokes its decision's licence in the same write)."""
    body = record_pb2.LicenceRevoked(licence_id=licence_id, reason=reason.strip(),
                                     revoked_at_ms=wall_ms()).SerializeToString()
    return Draft.of_body(record_pb2.LICENCE_REVOKED, body)


def _home_certs(store: NodeStore) -> list[x509.Certificate]:
    found = []
    for path in (store.home.cert_path, store.home.chain_path):
        if path.exists() and path.read_bytes().strip():
            found.extend(load_certs(path.read_bytes(), str(path)))
    return found


def node_chain(store: NodeStore, origin: str) -> list[x509.Certificate]:
    """Certificates of ``origin`` and its issuers this node holds, the root left out."""
    pool = {der(c): c for c in _home_certs(store) if not is_self_signed(c)}
    for blob in CertStore(store.db).chain_for(origin):
        pool.setdefault(blob, x509.load_der_x509_certificate(blob))
    return list(pool.values())


def export(store: NodeStore, licence_id: str) -> bytes:
    """The self-contained licence file (JSON): seal, seal chain and the log proof.

    The log proof is sync.audit.caseproof's file for the one licence record: record
    bytes, inclusion proof, the covering signed checkpoint, its receipts and
    the certificates up to (not including) the root.
    """
    item = show(store.db, licence_id)
    origin, seq = item["origin"], item["seq"]
    record = record_pb2.Record.FromString(store.log.record(origin, seq))
    body = record_pb2.Licence.FromString(record.body)
    chain = [x509.load_der_x509_certificate(body.seal_certificate_der),
             *node_chain(store, origin)]
    proof = caseproof.prove(store.db, [(origin, seq)], licence_id, _home_certs(store))
    doc = {"format": EXPORT_FORMAT, "licence_id": licence_id,
           "sealed": base64.b64encode(body.sealed).decode("ascii"),
           "seal_chain": [base64.b64encode(der(c)).decode("ascii") for c in chain],
           "log_proof": json.loads(proof)}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True)
class RelayResult:
    records: int
    revocations: int
    certificates: int


def _pending_revocations(db: sqlite3.Connection) -> list[record_pb2.RelayedRevocation]:
    licences = [record_pb2.RelayedRevocation(issuer=issuer, seq=seq, licence_id=lid,
                                             revoked_at_ms=at, reason=reason or "")
                for lid, issuer, seq, at, reason in db.execute(
        "SELECT licence_id, issuer, seq, revoked_at_ms, reason FROM licence_revocations r"
        " WHERE origin = issuer AND origin != ? AND NOT EXISTS (SELECT 1 FROM"
        " licence_revocations n WHERE n.licence_id = r.licence_id AND n.origin = ?)"
        " ORDER BY origin, seq", (NATIONAL, NATIONAL))]
    seal_certs = [record_pb2.RelayedRevocation(issuer=origin, seq=seq, serial_hex=serial,
                                               revoked_at_ms=at, reason=reason or "")
                  for origin, seq, serial, at, reason in db.execute(
        "SELECT r.origin, r.seq, r.serial_hex, r.revoked_at_ms, r.reason FROM revocations r"
        " JOIN seals s ON s.origin = r.origin AND s.serial_hex = r.serial_hex"
        " WHERE NOT EXISTS (SELECT 1 FROM relayed_cert_revocations x WHERE"
        " x.issuer = r.origin AND x.serial_hex = r.serial_hex) ORDER BY r.origin, r.seq")]
    return licences + seal_certs


def _pending_certificates(store: NodeStore) -> list[bytes]:
    relayed = {row[0] for row in store.db.execute("SELECT der FROM relayed_certs")}
    out: dict[bytes, None] = {}
    for origin, seal_der in store.db.execute("SELECT origin, der FROM seals ORDER BY origin, seq"
                                             ).fetchall():
        for blob in [*(der(c) for c in node_chain(store, origin)), seal_der]:
            if blob not in relayed:
                out.setdefault(blob, None)
    return list(out)


def relay(store: NodeStore) -> RelayResult:
    """At the national node: relay new revocations and seal certificates to every node."""
    if store.division != NATIONAL:
        raise LicenceError(f"the licence status relay runs at {NATIONAL}, not {store.division}")
    revocations = _pending_revocations(store.db)
    certificates = _pending_certificates(store)
    bodies: list[bytes] = []
    current = record_pb2.LicenceStatus()
    for blob in certificates:
        current.certificates.append(blob)
        if current.ByteSize() > _RELAY_BUDGET:
            bodies.append(current.SerializeToString())
            current = record_pb2.LicenceStatus()
    for entry in revocations:
        current.revocations.append(entry)
        if current.ByteSize() > _RELAY_BUDGET:
            bodies.append(current.SerializeToString())
            current = record_pb2.LicenceStatus()
    if current.ByteSize():
        bodies.append(current.SerializeToString())
    if bodies:
        store.write([Draft.of_body(record_pb2.LICENCE_STATUS, b) for b in bodies])
    return RelayResult(len(bodies), len(revocations), len(certificates))
