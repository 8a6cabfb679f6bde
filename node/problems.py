"""The operator's one inbox: everything this node refused or could not apply.

Seven sources, each kept where the code that refused it writes it: records
whose author may not write them (authority_violations, node.authority),
records of kinds this version does not know (there too, rule unknown-kind),
records the domain rules refused (projection_errors), batches refused by the
receiver (quarantine, sync.receive), conflicting checkpoints (forks) and
hand-overs not yet judged against the 跨省通办 list version they cite
(crossregion_unjudged, node.projection);
and, computed when asked, items held that differ from their base item
(四级四同, node.base_check: received items are projected, then listed here).
Every problem gets a stable id, its reason in words and what to do about it.
Batches refused only because they arrived early (OUT_OF_RANGE) are resent by
the sender and are not problems; ``include_resent`` lists them anyway.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from node import base_check, clock_guard
from pki.division import NATIONAL
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

Kind = record_pb2.Kind

_QUARANTINE_ADVICE = {
    "PERMISSION_DENIED": "a peer sent an origin outside what it may send: check that the peer "
                         "is the child (or parent) it claims, and its enrolment",
    "INVALID_ARGUMENT": "nothing of the batch was stored; the sender resends. If it repeats, "
                        "the sender's signature, certificate or data is bad: run 'tongban "
                        "status' there and check its certificate and clock",
    "FAILED_PRECONDITION": "a fork (see the fork problem of the same origin)",
    "OUT_OF_RANGE": "harmless: the batch arrived early and is resent from this node's size",
}


@dataclass(frozen=True)
class Problem:
    id: str  # "<source>:<key>", what ``show`` takes
    source: str  # authority, unknown-kind, projection, crossregion, clock, catalogue,
    #              quarantine, fork
    origin: str
    seq: int | None
    rule: str
    reason: str
    advice: str
    details: dict

    def to_dict(self) -> dict:
        return vars(self)


def _kind_name(kind: int) -> str:
    return Kind.Name(kind) if kind in Kind.values() else f"kind {kind}"


def _records(db: sqlite3.Connection) -> list[Problem]:
    out = []
    for origin, seq, kind, rule, reason in db.execute(
            "SELECT origin, seq, kind, rule, reason FROM authority_violations"
            " ORDER BY origin, seq"):
        details = {"kind": _kind_name(kind)}
        if rule == "unknown-kind":
            out.append(Problem(f"unknown-kind:{origin}#{seq}", "unknown-kind", origin, seq, rule,
                               reason, "upgrade tongban on this node, then run 'tongban db "
                               "rebuild': the record is in the log and will then be applied",
                               details))
            continue
        out.append(Problem(f"authority:{origin}#{seq}", "authority", origin, seq, rule, reason,
                           f"nothing to undo: the record is kept as evidence and never "
                           f"applied, and {origin}'s later records are not held up. Tell "
                           f"{origin}'s operator (and the auditor: 'tongban audit verify' "
                           "reports it too)", details))
    for origin, seq, error in db.execute(
            "SELECT origin, seq, error FROM projection_errors ORDER BY origin, seq"):
        out.append(Problem(f"projection:{origin}#{seq}", "projection", origin, seq, "domain",
                           error, f"the record is in the log but the domain rules refused it, "
                           f"so it is not applied; ask {origin}'s operator what it meant to "
                           "record", {}))
    return out


def _batches(db: sqlite3.Connection, include_resent: bool) -> list[Problem]:
    out = []
    for qid, received_ms, peer, origin, first_seq, status, reason in db.execute(
            "SELECT id, received_ms, peer, origin, first_seq, status, reason FROM quarantine"
            " ORDER BY id"):
        if status == "OUT_OF_RANGE" and not include_resent:
            continue
        out.append(Problem(f"quarantine:{qid}", "quarantine", origin or "-", first_seq, status,
                           reason, _QUARANTINE_ADVICE.get(status, "nothing was stored; the "
                                                         "sender resends"),
                           {"peer": peer, "received_ms": received_ms}))
    for fid, origin, size, seen_ms in db.execute(
            "SELECT id, origin, size, seen_ms FROM forks ORDER BY id"):
        out.append(Problem(f"fork:{fid}", "fork", origin, size, "fork",
                           f"{origin} signed two checkpoints of size {size} that disagree: its "
                           "history was rewritten (an old backup restored, or its key misused)",
                           f"nothing of {origin} after the fork is accepted. Call {origin}'s "
                           "operator and the auditor; 'tongban audit verify' prints both signed "
                           "notes as evidence", {"seen_ms": seen_ms}))
    return out


def _clock(db: sqlite3.Connection) -> list[Problem]:
    return [Problem(f"clock:{flag.origin}#{flag.seq}", "clock", flag.origin, flag.seq,
                    "future-time", flag.reason,
                    f"the record is stored but did not move this node's clock, so case numbers "
                    f"and deadlines here are not affected; {flag.origin}'s clock is probably "
                    "wrong: ask its operator to check it ('tongban doctor' there)",
                    {"seen_ms": flag.seen_ms})
            for flag in clock_guard.flags(db)]


def _catalogue(db: sqlite3.Connection) -> list[Problem]:
    return [Problem(f"catalogue:{d.publisher}/{d.impl_code}/{d.element}", "catalogue",
                    d.publisher, None, "four-same", d.line(),
                    f"{d.publisher} should publish the item as the base item says, or propose "
                    "the change ('tongban matter propose' there); 'tongban matter check "
                    "--subtree' lists every deviation", d.to_dict())
            for d in base_check.check(db, None, subtree=True)]


def _unjudged(db: sqlite3.Connection) -> list[Problem]:
    rows = db.execute("SELECT u.case_no, u.list_version, h.receiver, h.other FROM"
                      " crossregion_unjudged u JOIN handovers h USING (case_no)"
                      " ORDER BY u.case_no").fetchall()
    return [Problem(f"crossregion:{case_no}", "crossregion", receiver, None, "list-version",
                    f"the hand-over of case {case_no} to {other} was taken from 跨省通办 list "
                    f"version {version}, which this node does not hold yet, so whether the "
                    "list allows it is not judged yet",
                    f"usually nothing: the list comes down from {NATIONAL} with the next sync "
                    f"and the case is judged then. If it stays after a sync, {receiver} cited a "
                    "list version that was never published: ask its operator",
                    {"list_version": version, "other": other})
            for case_no, version, receiver, other in rows]


def listed(db: sqlite3.Connection, *, include_resent: bool = False) -> list[Problem]:
    """Every problem, records first (by origin and seq), then hand-overs waiting for their
    list, clock flags, catalogue deviations, batches, forks."""
    return (_records(db) + _unjudged(db) + _clock(db) + _catalogue(db)
            + _batches(db, include_resent))


def show(db: sqlite3.Connection, problem_id: str) -> Problem:
    for problem in listed(db, include_resent=True):
        if problem.id == problem_id:
            return problem
    raise InputError(f"no problem {problem_id} on this node: see 'tongban problems list'")

