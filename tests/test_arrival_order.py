"""Records whose verdict involves another log give one projection in every arrival order.

A hand-over comes up from the receiver and across, the handler's answers come back,
the 跨省通办 list comes down from 000000 (issue 14); a change request goes up while an
ancestor's answer comes down. A node may get them in any order that keeps each log's
own order. Fed to a real Projector on a real SQLite file in every such order, every
projection table must come out the same, including a hand-over the list does not
allow, a 联办 step, a list version that was never published, and an answer from an
ancestor the request did not ask.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import pytest

from node import projection
from node.authority import case_number
from node.projection import PROJECTION_TABLES, Projector
from protos.tongban.v1 import record_pb2 as K

NOW_MS = int(time.time() * 1000)
APPLY_SEQ = 5
CASE = case_number("540102", APPLY_SEQ, NOW_MS << 16)
MATERIALS = ["居民身份证"]


def _item(code: str, *divisions: str, steps: tuple[str, ...] = ()) -> K.CrossRegionItem:
    return K.CrossRegionItem(
        base_code=code, name=code,
        implementers=[K.CrossRegionImplementer(division=d, impl_code=f"{d}-{code}",
                                               promised_limit_days=10, materials=MATERIALS)
                      for d in divisions],
        steps=[K.CrossRegionStepSpec(name=f"步骤{i}", side=side)
               for i, side in enumerate(steps)])


def _list(version: int, seq: int, *items: K.CrossRegionItem) -> K.Record:
    body = K.CrossRegionList(version=version, items=items).SerializeToString()
    return K.Record(origin="000000", seq=seq, hlc=(NOW_MS - 60_000 + seq) << 16,
                    kind=K.CROSS_REGION_LIST, body=body)


def _event(origin: str, seq: int, offset_ms: int, recipient: str, **fields) -> K.Record:
    body = K.CaseEvent(case_no=CASE, actor="窗口01", **fields).SerializeToString()
    return K.Record(origin=origin, seq=seq, hlc=(NOW_MS + offset_ms) << 16,
                    kind=K.CASE_EVENT, recipient=recipient, body=body)


def _apply(matter: str, list_version: int = 1, **fields) -> K.Record:
    return _event("540102", APPLY_SEQ, 0, fields.get("handled_by") or fields["joint_with"],
                  action="apply", matter_code=matter, matter_version=list_version,
                  list_version=list_version, applicant_id="540102199001011233",
                  applicant_name="扎西", channel="window", limit_days=10,
                  materials=MATERIALS, **fields)


def _step(origin: str, seq: int, offset_ms: int, recipient: str, side: str) -> K.Record:
    body = K.CrossRegionStep(case_no=CASE, index=0, name="步骤0", side=side,
                             actor="窗口01").SerializeToString()
    return K.Record(origin=origin, seq=seq, hlc=(NOW_MS + offset_ms) << 16,
                    kind=K.CROSS_REGION_STEP, recipient=recipient, body=body)


LIST_1 = _list(1, 1, _item("GG001", "650102"), _item("QR001", "540102", "650102",
                                                        steps=("receiver", "partner")))
#: 650102 no longer implements GG001 (a hand-over citing it is refused)
LIST_2 = _list(2, 2, _item("GG001", "540121"))
ACCEPT = _event("650102", 3, 1000, "540102", action="accept")
WITHDRAW = _event("540102", APPLY_SEQ + 1, 2000, "650102", action="withdraw", reason="不办了")

SCENARIOS = {
    "allowed": [LIST_1, _apply("650102-GG001", handled_by="650102"), ACCEPT, WITHDRAW],
    "not-on-list": [LIST_1, _apply("540102-XK-001", handled_by="650102"), ACCEPT, WITHDRAW],
    "dropped-by-cited-version": [LIST_1, LIST_2,
                                 _apply("650102-GG001", 2, handled_by="650102"), ACCEPT],
    "never-published-version": [LIST_1, _list(3, 2, _item("GG001", "650102")),
                                _apply("650102-GG001", 2, handled_by="650102"), ACCEPT],
    "joint-step": [LIST_1, _apply("540102-QR001", joint_with="650102"),
                   _step("540102", APPLY_SEQ + 1, 1000, "650102", "receiver")],
    "joint-not-on-list": [LIST_2, _apply("540102-QR001", 2, joint_with="650102"),
                          _step("540102", APPLY_SEQ + 1, 1000, "650102", "receiver")],
}


def _possible(order) -> bool:
    """Each log's records in seq order, and the handler's answer after the apply: it was
    written after the apply reached the handler, which it did through every node that
    the answer passes (up to the common ancestor, then down)."""
    last: dict[str, int] = {}
    for record in order:
        if last.get(record.origin, -1) > record.seq:
            return False
        if record.kind == K.CASE_EVENT and record.origin == "650102" and "540102" not in last:
            return False
        last[record.origin] = record.seq
    return True


def _orders(records: list[K.Record]) -> list[tuple[K.Record, ...]]:
    """Every order in which ``records`` can reach a node."""
    return [order for order in itertools.permutations(records) if _possible(order)]


def _project(path: Path, order) -> dict[str, list[tuple]]:
    """The projection tables after applying ``order`` at a node outside both regions, which
    holds neither county's staff register (so the staff rules are left to where it is)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        projection.create_tables(db)
        projection.create_indexes(db)
        projector = Projector(db, "110000", strict=False)
        db.execute("BEGIN")
        for record in order:
            projector.apply(record)
        projector.flush()
        db.execute("COMMIT")
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in PROJECTION_TABLES}
    finally:
        db.close()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_arrival_order_gives_one_projection(tmp_path, name):
    orders = _orders(SCENARIOS[name])
    assert len(orders) > 1
    first = _project(tmp_path / "0.db", orders[0])
    for i, order in enumerate(orders[1:], 1):
        assert _project(tmp_path / f"{i}.db", order) == first, (name, [
            (r.origin, r.seq) for r in order])
    cases = {row[0] for row in first["cases"]}
    errors = first["projection_errors"]
    assert first["crossregion_unjudged"] == []
    if name == "allowed":
        assert cases == {CASE} and errors == []
    elif name == "joint-step":
        assert cases == {CASE} and errors == [] and len(first["joint_steps"]) == 1
    else:   # the apply is refused, and so is everything about its case
        assert CASE not in cases and first["joint_steps"] == []
        assert ("540102", APPLY_SEQ) in {(o, s) for o, s, _ in errors}
        assert len(errors) == len(SCENARIOS[name]) - sum(r.kind == K.CROSS_REGION_LIST
                                                          for r in SCENARIOS[name])


def test_a_theme_member_is_never_handed_over(tmp_path):
    """一件事 members are the theme owner's own cases (rule theme-owner): a hand-over that
    names a theme case is kept as a violation, not projected."""
    apply = _apply("650102-GG001", handled_by="650102", theme_case="540102-2026-0000001")
    tables = _project(tmp_path / "theme.db", [LIST_1, apply])
    assert [(o, s, rule) for o, s, _kind, rule, _ in tables["authority_violations"]] == [
        ("540102", APPLY_SEQ, "theme-owner")]
    assert tables["cases"] == [] and tables["theme_members"] == []


def test_an_answer_from_an_ancestor_not_asked_is_refused_in_either_order(tmp_path):
    """A change request asks the region; the national node's answer is a projection error
    (not silently ignored), whether it arrives before the request or after it."""
    request = K.Record(origin="540102", seq=7, hlc=NOW_MS << 16, kind=K.MATTER_CHANGE_REQUEST,
                       recipient="540000", body=K.ChangeRequest(
                           proposed=K.BaseItem(base_code="GG00101000")).SerializeToString())
    answer = K.Record(origin="000000", seq=9, hlc=(NOW_MS + 1000) << 16,
                      kind=K.CHANGE_REQUEST_ANSWERED, recipient="540102",
                      body=K.ChangeRequestAnswer(request_origin="540102", request_seq=7,
                                                 approve=True).SerializeToString())
    first = _project(tmp_path / "request-first.db", [request, answer])
    assert _project(tmp_path / "answer-first.db", [answer, request]) == first
    assert first["change_answers"] == []
    assert first["projection_errors"] == [("000000", 9, "000000 answered change request "
                                           "540102#7, which asked 540000: only the node asked "
                                           "answers it")]
