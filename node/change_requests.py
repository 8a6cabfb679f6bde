"""Change requests (会签): a county proposes, the owner of the base item answers.

Every step is a record authored by the node entitled to it:

- ``propose`` (the proposer): a MATTER_CHANGE_REQUEST (kind 10) addressed to
  the node that owns the base item the proposer's item names (the national
  node or a province), or, for a 地方特色 (local) item or a base code nobody
  publishes yet, to the proposer's parent. The body carries the base item as
  the proposer wants it and the implementation item that prompted it.
- ``approve`` (the recipient): a new version of the base item
  (BASE_ITEM_PUBLISHED, kind 50, retired for a retirement) and, in the same
  transaction, a CHANGE_REQUEST_ANSWERED record (kind 51) addressed to the
  proposer naming the version. Both flow down with the approver's log, so the
  proposer receives the new version and the answer at its next sync. A
  recipient that may not publish base items (a prefecture answering a local
  item) approves with the answer alone: the local item is the proposer's,
  and the proposer publishes it.
- ``deny`` (the recipient): the answer with its reason, nothing published.

The request travels up with the proposer's log (every ancestor replicates
it) and the answer down with the ancestor's (every descendant replicates
that), so no delivery is needed, over the network or by bundle. A request's
status is read from the tables when asked (pending until an answer by its
recipient is held), so the order records arrive in does not matter.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from cryptography.x509.oid import NameOID

from node import base_catalogue, base_check
from node.authority import code_namespace
from node.catalogue_file import parse_matter
from node.licence_types import known_types
from node.store import Draft, NodeStore
from pki.division import Level, ancestors, level
from pki.errors import InputError
from protos.tongban.v1 import record_pb2
from sync.records import parse_record

PENDING, APPROVED, DENIED = "pending", "approved", "denied"


class ChangeRequestError(InputError):
    pass


@dataclass(frozen=True)
class Request:
    id: str              # "<origin>#<seq>"
    origin: str
    seq: int
    recipient: str
    at_ms: int
    base_code: str
    retire: bool
    impl_code: str
    reason: str
    status: str
    answer_reason: str
    base_version: int    # approved: the base item version published (0: none)

    def to_dict(self) -> dict:
        return dict(vars(self))


def parent_of(store: NodeStore) -> str:
    """The issuer of this node's certificate: its parent."""
    cert = store.home.cert_chain().cert
    if cert.issuer == cert.subject:
        raise ChangeRequestError(f"{store.division} is the root of the tree: it answers change "
                                 "requests and proposes to nobody")
    return str(cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _province_or_parent(store: NodeStore) -> str:
    """Who takes a proposal for a base code nobody publishes: the province above, else the
    parent (a province itself proposes to the national node)."""
    provinces = [a for a in ancestors(store.division) if level(a) is Level.PROVINCE]
    return provinces[0] if provinces else parent_of(store)


def _write(store: NodeStore, request: record_pb2.ChangeRequest, recipient: str) -> str:
    store.write([Draft.of_body(record_pb2.MATTER_CHANGE_REQUEST, request.SerializeToString(),
                               recipient)])
    return f"{store.division}#{store.log.size(store.division) - 1}"


def propose_item(store: NodeStore, item: dict, reason: str) -> tuple[str, str]:
    """Propose the base elements of ``item`` (the proposer's item as it wants it);
    returns (request id, recipient)."""
    matter = parse_matter(item, types=known_types(store.db))
    if code_namespace(matter.impl_code) != store.division:
        raise ChangeRequestError(f"matter {matter.impl_code} is {code_namespace(matter.impl_code)}"
                                 f"'s, not {store.division}'s: propose changes to your own items")
    base = None if matter.local else base_check.base_for(store.db, store.division,
                                                          matter.base_code)
    levels = list(base.levels) if base else []
    proposed = record_pb2.BaseItem(
        base_code=matter.base_code, name=matter.name, type=matter.type,
        legal_basis=matter.legal_basis, levels=levels + [matter.level] * (
            matter.level not in levels), main_item=matter.main_item, sub_item=matter.sub_item,
        reason=reason.strip())
    if base is not None and not base.retired and (
            proposed.name, proposed.type, proposed.legal_basis, tuple(proposed.levels)) == (
            base.name, base.type, base.legal_basis, base.levels):
        raise ChangeRequestError(f"matter {matter.impl_code} already matches base item "
                                 f"{base.base_code} v{base.version} of {base.origin}: nothing "
                                 "to propose (publish it with 'tongban matter import')")
    if matter.local:
        recipient = parent_of(store)
    elif base is not None:
        recipient = base.origin
    else:
        recipient = _province_or_parent(store)
    if recipient == store.division:
        raise ChangeRequestError(f"base item {matter.base_code} is {store.division}'s own: "
                                 "publish the change with 'tongban matter base publish'")
    request = record_pb2.ChangeRequest(proposed=proposed, reason=reason.strip(),
                                       impl_code=matter.impl_code, item=matter)
    return _write(store, request, recipient), recipient


def propose_retire(store: NodeStore, code: str, reason: str) -> tuple[str, str]:
    """Propose retiring base item ``code`` (to its owner) or this node's local item ``code``
    (to the parent); returns (request id, recipient)."""
    if not reason.strip():
        raise ChangeRequestError("a retirement request needs --reason")
    base = base_check.base_for(store.db, store.division, code)
    if base is not None:
        if base.retired:
            raise ChangeRequestError(f"base item {code} is already retired")
        recipient, base_code, impl_code = base.origin, code, ""
    else:
        row = store.db.execute("SELECT base_code FROM matters WHERE origin = ? AND impl_code = ?"
                               " LIMIT 1", (store.division, code)).fetchone()
        if row is None:
            raise ChangeRequestError(f"{code} is neither a base item held here nor an item of "
                                     f"{store.division}: see 'tongban matter base list' and "
                                     "'tongban matter list'")
        recipient, base_code, impl_code = parent_of(store), row[0], code
    if recipient == store.division:
        raise ChangeRequestError(f"base item {code} is {store.division}'s own: retire it with "
                                 "'tongban matter base retire'")
    request = record_pb2.ChangeRequest(proposed=record_pb2.BaseItem(base_code=base_code),
                                       retire=True, reason=reason.strip(), impl_code=impl_code)
    return _write(store, request, recipient), recipient


def _rows(db: sqlite3.Connection, where: str, params: tuple) -> list[Request]:
    out = []
    for (origin, seq, recipient, at_ms, base_code, retire, impl_code, reason, approve,
         answer_reason, version) in db.execute(
            "SELECT r.origin, r.seq, r.recipient, r.at_ms, r.base_code, r.retire, r.impl_code,"
            " r.reason, a.approve, a.reason, a.base_version FROM change_requests r"
            " LEFT JOIN change_answers a ON a.request_origin = r.origin AND a.request_seq ="
            f" r.seq AND a.origin = r.recipient WHERE {where} ORDER BY r.at_ms, r.origin, r.seq",
            params):
        status = PENDING if approve is None else APPROVED if approve else DENIED
        out.append(Request(f"{origin}#{seq}", origin, seq, recipient, at_ms, base_code,
                           bool(retire), impl_code or "", reason or "", status,
                           answer_reason or "", version or 0))
    return out


def listed(store: NodeStore) -> list[Request]:
    """Requests addressed to this node and those it sent, oldest first."""
    return _rows(store.db, "r.recipient = ? OR r.origin = ?", (store.division, store.division))


def _pending_for_me(store: NodeStore, request_id: str) -> tuple[Request, record_pb2.ChangeRequest]:
    origin, hash_, seq_text = request_id.partition("#")
    if not hash_ or not seq_text.isdigit() or len(seq_text) > 18:
        raise ChangeRequestError(f"bad request id {request_id!r}: want ORIGIN#SEQ as 'tongban "
                                 "matter requests' lists it")
    found = _rows(store.db, "r.origin = ? AND r.seq = ?", (origin, int(seq_text)))
    if not found:
        raise ChangeRequestError(f"no change request {request_id} held here: see 'tongban "
                                 "matter requests'")
    request = found[0]
    if request.recipient != store.division:
        raise ChangeRequestError(f"change request {request_id} is addressed to "
                                 f"{request.recipient}; only it may answer")
    if request.status != PENDING:
        raise ChangeRequestError(f"change request {request_id} was already {request.status}")
    record = parse_record(store.log.record(request.origin, request.seq))
    return request, record_pb2.ChangeRequest.FromString(record.body)


def _answer(request: Request, approve: bool, reason: str, base: record_pb2.BaseItem | None
            ) -> Draft:
    body = record_pb2.ChangeRequestAnswer(
        request_origin=request.origin, request_seq=request.seq, approve=approve,
        reason=reason.strip(), base_code=request.base_code,
        base_version=base.version if base is not None else 0)
    return Draft.of_body(record_pb2.CHANGE_REQUEST_ANSWERED, body.SerializeToString(),
                         request.origin)


def approve(store: NodeStore, request_id: str, reason: str = "") -> Request:
    """Publish the requested change (a new base item version) and answer, in one write."""
    request, body = _pending_for_me(store, request_id)
    base: record_pb2.BaseItem | None = None
    if not (body.item.local or (request.retire and request.impl_code)):
        base = _base_change(store, request, body)
    drafts = [] if base is None else [Draft.of_body(record_pb2.BASE_ITEM_PUBLISHED,
                                                    base.SerializeToString())]
    store.write([*drafts, _answer(request, True, reason, base)])
    return _rows(store.db, "r.origin = ? AND r.seq = ?", (request.origin, request.seq))[0]


def _base_change(store: NodeStore, request: Request, body: record_pb2.ChangeRequest
                 ) -> record_pb2.BaseItem:
    """The base item version that carries out ``request`` (not yet written)."""
    if level(store.division) not in (Level.NATIONAL, Level.PROVINCE):
        raise ChangeRequestError(f"{store.division} may not publish base items (the national "
                                 f"node and the provinces do): deny {request.id} and ask "
                                 f"{request.origin} to propose it to its province")
    owner = base_check.base_for(store.db, request.origin, request.base_code)
    if owner is not None and owner.origin != store.division:
        raise ChangeRequestError(f"base item {request.base_code} is {owner.origin}'s: only "
                                 f"{owner.origin} may change it; deny {request.id} and ask "
                                 f"{request.origin} to propose it there")
    if request.retire:
        return base_catalogue.retire_body(store, request.base_code,
                                          request.reason or f"change request {request.id}")
    proposed = record_pb2.BaseItem()
    proposed.CopyFrom(body.proposed)
    return base_catalogue.prepare(store, proposed)[0]


def deny(store: NodeStore, request_id: str, reason: str) -> Request:
    if not reason.strip():
        raise ChangeRequestError("a denial needs --reason (the proposer reads it)")
    request, _body = _pending_for_me(store, request_id)
    store.write([_answer(request, False, reason, None)])
    return _rows(store.db, "r.origin = ? AND r.seq = ?", (request.origin, request.seq))[0]

