"""The base catalogue and 四级四同, and change requests, on real enrolled homes.

The region 540000 publishes base items; the counties' logs reach it through
the real Receiver (audit_fixtures.replicate) and the region's log reaches a
county the same way (``pull``). Refusals are one line with the database
unchanged; received deviations are projected and listed, never refused.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import timedelta

import pytest
import tomli_w
from audit_fixtures import COUNTIES, NOW, REGION, build, pinned_clock, receiver_for, replicate
from node_fixtures import run
from test_authority import Forbidden, raw_write

from node import base_catalogue, base_check, change_requests, matters, problems
from node.audits import audit
from node.authority import AuthorityViolation
from node.base_check import BaseMismatch
from node.catalogue_file import parse_matter, sample_catalogue
from node.change_requests import ChangeRequestError
from node.store import Draft, NodeStore
from protos.tongban.v1 import record_pb2
from sync.batches import make_batch
from sync.certstore import CertStore

COUNTY, SIBLING = COUNTIES
AT = NOW - timedelta(hours=2)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    fed = build(tmp_path_factory.mktemp("base") / "fed")
    with pinned_clock(AT - timedelta(hours=1)):
        region = NodeStore.open(fed.home(REGION))
        try:
            base_catalogue.publish(region, base_catalogue.sample_base())
        finally:
            region.close()
    return fed


@pytest.fixture
def fed(template, tmp_path):
    return template.copy_to(tmp_path / "fed")


def pull(fed, county: str) -> None:
    """The region's log down to a county, through the county's real Receiver."""
    region = NodeStore.open(fed.home(REGION))
    child = NodeStore.open(fed.home(county))
    try:
        region.ensure_checkpoint()
        receiver = receiver_for(child, fed.root)
        start = child.log.size(REGION)
        while (batch := make_batch(region.log, CertStore(region.db), REGION, start, 4096)):
            start = receiver.receive(batch, REGION, lambda _origin: True).stored_size
    finally:
        region.close()
        child.close()


def dump(path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def item(division: str = COUNTY, index: int = 2, **changes) -> dict:
    """Sample item ``index`` (居住证核发, base GG00101000, published by the counties) with
    ``changes``."""
    chosen = copy.deepcopy(sample_catalogue(division)[index])
    chosen.update(changes)
    return chosen


def _open(fed, code: str) -> NodeStore:
    return NodeStore.open(fed.home(code))


def test_the_base_catalogue_arrives_and_the_sample_matches_it(fed):
    pull(fed, COUNTY)
    store = _open(fed, COUNTY)
    try:
        held = base_check.listed(store.db)
        assert len(held) == 28 and {b.origin for b in held} == {REGION}
        assert base_check.check(store.db, COUNTY, subtree=False) == []
        published = matters.publish(store, [item()])  # unchanged sample item: nothing written
    finally:
        store.close()
    assert [r.status for r in published] == ["unchanged"]


@pytest.mark.parametrize(("changes", "line"), [
    ({"name": "居住证办理"}, "matter 540102-GG-001: name '居住证办理' differs from base item "
     "GG00101000 v1 of 540000 ('居住证核发') (四级四同)"),
    ({"type": "行政确认"}, "matter 540102-GG-001: type '行政确认' differs from base item "
     "GG00101000 v1 of 540000 ('公共服务') (四级四同)"),
    ({"legal_basis": "《条例》"}, "matter 540102-GG-001: legal_basis '《条例》' differs from "
     "base item GG00101000 v1 of 540000 ('《居住证暂行条例》第二条、第九条、第十条') (四级四同)"),
    ({"level": "国家级"}, "matter 540102-GG-001: level '国家级' differs from base item "
     "GG00101000 v1 of 540000 (one of '省级,市级,县级') (四级四同)"),
    ({"base_code": "XK99999000"}, "matter 540102-GG-001: base_code XK99999000 is not in the "
     "base catalogue held here (mark the item local = true for a 地方特色事项, or propose "
     "the base item: tongban matter propose)"),
], ids=["name", "type", "legal_basis", "level", "base_code"])
def test_an_own_item_that_differs_from_its_base_is_refused_and_writes_nothing(
        fed, tmp_path, changes, line):
    pull(fed, COUNTY)
    before = dump(fed.db_path(COUNTY))
    store = _open(fed, COUNTY)
    try:
        with pytest.raises(BaseMismatch) as refused:
            matters.publish(store, [item(**changes)])
    finally:
        store.close()
    assert str(refused.value) == line
    assert dump(fed.db_path(COUNTY)) == before
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps({"matters": [item(**changes)]}), encoding="utf-8")
    done = run(fed.home(COUNTY).path, "matter", "import", str(path), ok=False)
    assert done.exit_code == 1 and done.output.splitlines() == [f"error: {line}"]
    assert dump(fed.db_path(COUNTY)) == before


def test_a_local_item_needs_no_base_item(fed):
    pull(fed, COUNTY)
    store = _open(fed, COUNTY)
    try:
        result = matters.publish(store, [item(impl_code="540102-DF-001", base_code="DF00100100",
                                              name="牧区流动办证服务", local=True)])
    finally:
        store.close()
    assert [r.status for r in result] == ["new"]


def test_a_retired_base_item_is_a_deviation(fed):
    region = _open(fed, REGION)
    try:
        base_catalogue.retire(region, "GG00101000", "并入居住证办理")
    finally:
        region.close()
    region = _open(fed, REGION)
    try:
        found = base_check.check(region.db, REGION, subtree=True)
    finally:
        region.close()
    assert [(d.publisher, d.impl_code, d.element) for d in found] == [
        (COUNTY, "540102-GG-001", "retired"), (SIBLING, "540121-GG-001", "retired")]


def test_a_received_deviating_item_is_projected_listed_by_check_and_problems(fed):
    """At receipt the county's item counts (its cases are real) and is flagged."""
    replicate(fed, COUNTY, NOW - timedelta(hours=1))
    body = matters_body(item(name="居住证办理", promised_limit_days=0))
    seq = raw_write(fed, Forbidden(COUNTY, record_pb2.MATTER_PUBLISHED, body))
    replicate(fed, COUNTY, NOW - timedelta(minutes=30))
    region = _open(fed, REGION)
    try:
        assert region.log.size(COUNTY) == seq + 1
        row = region.db.execute("SELECT name, version FROM matters WHERE origin = ? AND "
                                "impl_code = ? ORDER BY version DESC", (COUNTY,
                                                                        "540102-GG-001")
                                ).fetchone()
        found = base_check.check(region.db, REGION, subtree=True)
        own = base_check.check(region.db, REGION, subtree=False)
        listed = {p.id: p for p in problems.listed(region.db)}
    finally:
        region.close()
    assert row == ("居住证办理", 2)
    assert [(d.publisher, d.impl_code, d.element, d.item_value, d.base_value) for d in found] == [
        (COUNTY, "540102-GG-001", "name", "居住证办理", "居住证核发")]
    assert own == []
    problem = listed["catalogue:540102/540102-GG-001/name"]
    assert problem.rule == "four-same" and problem.reason == found[0].line()
    out = run(fed.home(REGION).path, "matter", "check", "--subtree", ok=False)
    assert out.exit_code == 1
    assert out.output.splitlines() == [f"540102 {found[0].line()}", "1 deviation"]


def matters_body(chosen: dict) -> bytes:
    return parse_matter(chosen, version=2).SerializeToString()


def test_a_county_may_not_publish_base_items(fed):
    before = dump(fed.db_path(COUNTY))
    done = run(fed.home(COUNTY).path, "matter", "base", "publish", "--sample", ok=False)
    assert done.exit_code == 1
    assert done.output.splitlines() == [
        "error: the base catalogue belongs to 000000 and the provinces; 540102 may not publish "
        "base item QR00101000 (rule base-publisher)"]
    assert dump(fed.db_path(COUNTY)) == before


# --- change requests --------------------------------------------------------------------------


def propose_rename(fed) -> str:
    store = _open(fed, COUNTY)
    try:
        request_id, recipient = change_requests.propose_item(
            store, item(name="居住证申领"), "与国家目录名称统一")
    finally:
        store.close()
    assert recipient == REGION
    return request_id


def rename_proposed_at_region(fed) -> str:
    """The county, holding the base catalogue, proposes the rename; the region holds it."""
    pull(fed, COUNTY)
    request_id = propose_rename(fed)
    replicate(fed, COUNTY, NOW - timedelta(minutes=40))
    return request_id


def test_change_request_round_trip_in_process(fed):
    request_id = rename_proposed_at_region(fed)
    region = _open(fed, REGION)
    try:
        pending = change_requests.listed(region)
        assert [(r.id, r.status, r.base_code) for r in pending] == [
            (request_id, "pending", "GG00101000")]
        approved = change_requests.approve(region, request_id)
        base = base_check.newest(region.db, REGION, "GG00101000")
    finally:
        region.close()
    assert (approved.status, approved.base_version) == ("approved", 2)
    assert base is not None and base.name == "居住证申领" and base.reason == "与国家目录名称统一"
    pull(fed, COUNTY)
    store = _open(fed, COUNTY)
    try:
        mine = change_requests.listed(store)
        deviation = base_check.check(store.db, COUNTY, subtree=False)
        result = matters.publish(store, [item(name="居住证申领")])
        after = base_check.check(store.db, COUNTY, subtree=False)
    finally:
        store.close()
    assert [(r.id, r.status, r.base_version) for r in mine] == [(request_id, "approved", 2)]
    assert [d.element for d in deviation] == ["name"]  # the old item now differs
    assert [(r.status, r.version) for r in result] == [("changed", 2)]
    assert after == []


def test_deny_and_what_the_proposer_sees(fed):
    request_id = rename_proposed_at_region(fed)
    region = _open(fed, REGION)
    try:
        denied = change_requests.deny(region, request_id, "名称以国家目录为准")
        with pytest.raises(ChangeRequestError, match=f"^change request {request_id} was "
                           "already denied$"):
            change_requests.approve(region, request_id)
    finally:
        region.close()
    assert denied.status == "denied"
    pull(fed, COUNTY)
    out = run(fed.home(COUNTY).path, "matter", "requests", "--json").output
    shown = json.loads(out)
    assert [(r["id"], r["status"], r["answer_reason"]) for r in shown] == [
        (request_id, "denied", "名称以国家目录为准")]


@pytest.mark.parametrize(("who", "args", "line"), [
    (COUNTY, ("matter", "propose", "--retire", "GG00101000"),
     "error: a retirement request needs --reason"),
    (COUNTY, ("matter", "propose", "--retire", "NOPE000000", "--reason", "r"),
     "error: NOPE000000 is neither a base item held here nor an item of 540102: see 'tongban "
     "matter base list' and 'tongban matter list'"),
    (REGION, ("matter", "approve", "540102#notanumber"),
     "error: bad request id '540102#notanumber': want ORIGIN#SEQ as 'tongban matter requests' "
     "lists it"),
    (REGION, ("matter", "approve", "540102#999"),
     "error: no change request 540102#999 held here: see 'tongban matter requests'"),
    (REGION, ("matter", "deny", "540102#999", "--reason", " "),
     "error: a denial needs --reason (the proposer reads it)"),
    (COUNTY, ("matter", "base", "retire", "GG00101000", "--reason", "r"),
     "error: 540102 publishes no base item GG00101000: see 'tongban matter base list'"),
], ids=["retire-no-reason", "retire-unknown", "bad-id", "no-request", "deny-no-reason",
        "base-retire-not-owner"])
def test_bad_change_request_commands_give_one_line_and_change_nothing(fed, who, args, line):
    pull(fed, COUNTY)
    before = dump(fed.db_path(who))
    done = run(fed.home(who).path, *args, ok=False)
    assert done.exit_code == 1
    assert done.output.splitlines() == [line]
    assert dump(fed.db_path(who)) == before


def test_only_the_recipient_answers_and_an_unchanged_proposal_is_refused(fed):
    pull(fed, COUNTY)
    request_id = propose_rename(fed)
    replicate(fed, SIBLING, NOW - timedelta(minutes=45))
    replicate(fed, COUNTY, NOW - timedelta(minutes=40))
    before = dump(fed.db_path(COUNTY))
    store = _open(fed, COUNTY)
    try:
        with pytest.raises(ChangeRequestError) as refused:
            change_requests.approve(store, request_id)
        with pytest.raises(ChangeRequestError) as same:
            change_requests.propose_item(store, item(), "")
    finally:
        store.close()
    assert str(refused.value) == (f"change request {request_id} is addressed to 540000; only it "
                                  "may answer")
    assert str(same.value) == ("matter 540102-GG-001 already matches base item GG00101000 v1 "
                               "of 540000: nothing to propose (publish it with 'tongban matter "
                               "import')")
    assert dump(fed.db_path(COUNTY)) == before


def test_retirement_request_round_trip(fed):
    pull(fed, COUNTY)
    store = _open(fed, COUNTY)
    try:
        request_id, recipient = change_requests.propose_retire(store, "QR00102000", "职能调整")
    finally:
        store.close()
    replicate(fed, COUNTY, NOW - timedelta(minutes=40))
    region = _open(fed, REGION)
    try:
        change_requests.approve(region, request_id)
    finally:
        region.close()
    pull(fed, COUNTY)
    store = _open(fed, COUNTY)
    try:
        base = base_check.newest(store.db, REGION, "QR00102000")
        found = base_check.check(store.db, COUNTY, subtree=False)
    finally:
        store.close()
    assert recipient == REGION and base is not None and base.retired and base.version == 2
    assert [(d.impl_code, d.element) for d in found] == [("540102-QR-002", "retired")]


def test_rebuild_gives_identical_tables_after_a_round_trip(fed):
    """Base items, requests and answers are projections like any other: rebuilt the same."""
    from node_fixtures import dump_projections

    request_id = rename_proposed_at_region(fed)
    region = _open(fed, REGION)
    try:
        change_requests.approve(region, request_id, "同意")
    finally:
        region.close()
    pull(fed, COUNTY)
    for code in (REGION, COUNTY):
        before = dump_projections(fed.db_path(code))
        assert len(before["change_requests"]) == 1 and len(before["change_answers"]) == 1
        store = _open(fed, code)
        try:
            store.rebuild()
        finally:
            store.close()
        assert dump_projections(fed.db_path(code)) == before


def test_json_of_the_new_commands(fed):
    pull(fed, COUNTY)
    county = fed.home(COUNTY).path
    held = json.loads(run(county, "matter", "base", "list", "--json").output)
    assert len(held) == 28 and held[0]["base_code"] == "GF00101000"
    checked = json.loads(run(county, "matter", "check", "--json").output)
    assert checked == {"base_catalogue_held": True, "deviations": []}
    region = fed.home(REGION).path
    retired = json.loads(run(region, "matter", "base", "retire", "GF00101000", "--reason",
                             "合并", "--json").output)
    assert retired == {"base_code": "GF00101000", "version": 2, "reason": "合并"}


def test_a_county_proposes_only_for_its_own_items(fed, tmp_path):
    pull(fed, COUNTY)
    path = tmp_path / "other.toml"
    path.write_text(tomli_w.dumps({"matters": [item(SIBLING, name="居住证申领")]}),
                    encoding="utf-8")
    before = dump(fed.db_path(COUNTY))
    done = run(fed.home(COUNTY).path, "matter", "propose", str(path), ok=False)
    assert done.exit_code == 1
    assert done.output.splitlines() == [
        "error: matter 540121-GG-001 is 540121's, not 540102's: propose changes to your own "
        "items"]
    assert dump(fed.db_path(COUNTY)) == before


@pytest.mark.parametrize(("entry", "line"), [
    ({"base_code": "GG00101000", "name": "居住证核发", "type": "公共服务",
      "legal_basis": "《居住证暂行条例》", "levels": "区级"},
     "error: base item GG00101000: levels '区级': want one or more of 国家级, 省级, 市级, "
     "县级, 乡级"),
    ({"base_code": "GG00101000", "name": "居住证核发", "type": "公共服务", "levels": "县级"},
     "error: base item GG00101000: missing legal_basis"),
    ({"base_code": "gg", "name": "x", "type": "公共服务", "legal_basis": "l", "levels": "县级"},
     "error: base item gg: base_code 'gg': want 6-20 capital letters and digits"),
    ({"base_code": "GG00101000", "name": "x", "type": "公共服务", "legal_basis": "l",
      "levels": "县级", "fees": "0"},
     "error: base item GG00101000: fees is not a known element (known: base_code, legal_basis, "
     "levels, main_item, name, sub_item, type)"),
], ids=["levels", "missing", "code", "unknown"])
def test_a_bad_base_file_is_one_line_and_writes_nothing(fed, tmp_path, entry, line):
    path = tmp_path / "base.toml"
    path.write_text(tomli_w.dumps({"base": [entry]}), encoding="utf-8")
    before = dump(fed.db_path(REGION))
    done = run(fed.home(REGION).path, "matter", "base", "publish", str(path), ok=False)
    assert done.exit_code == 1 and done.output.splitlines() == [line]
    assert dump(fed.db_path(REGION)) == before


def test_a_local_item_change_goes_to_the_parent_and_is_approved_by_the_answer_alone(fed):
    local = item(impl_code="540102-DF-001", base_code="DF00100100", name="牧区流动办证服务",
                 local=True)
    store = _open(fed, COUNTY)
    try:
        matters.publish(store, [local])
        request_id, recipient = change_requests.propose_item(
            store, {**local, "promised_limit_days": 3}, "缩短承诺时限")
    finally:
        store.close()
    assert recipient == REGION  # the county's parent (its certificate's issuer)
    replicate(fed, COUNTY, NOW - timedelta(minutes=40))
    region = _open(fed, REGION)
    try:
        before = base_check.listed(region.db)
        answered = change_requests.approve(region, request_id)
        after = base_check.listed(region.db)
    finally:
        region.close()
    assert (answered.status, answered.base_version) == ("approved", 0)
    assert after == before  # nothing published: the local item stays the county's to publish


# --- found in review (h28): each failed before its fix ----------------------------------------


def test_a_file_of_proposals_is_sent_whole_or_not_at_all(fed, tmp_path):
    """The second item matches its base already: the first must not go out alone."""
    pull(fed, COUNTY)
    path = tmp_path / "two.toml"
    path.write_text(tomli_w.dumps({"matters": [item(name="居住证申领"), item()]}),
                    encoding="utf-8")
    twice = tmp_path / "twice.toml"
    twice.write_text(tomli_w.dumps({"matters": [item(name="居住证申领"),
                                                item(name="居住证申办")]}), encoding="utf-8")
    before = dump(fed.db_path(COUNTY))
    done = run(fed.home(COUNTY).path, "matter", "propose", str(path), ok=False)
    again = run(fed.home(COUNTY).path, "matter", "propose", str(twice), ok=False)
    assert (done.exit_code, again.exit_code) == (1, 1)
    assert done.output.splitlines() == [
        "error: matter 540102-GG-001 already matches base item GG00101000 v1 of 540000: "
        "nothing to propose (publish it with 'tongban matter import')"]
    assert again.output.splitlines() == [
        "error: matter 540102-GG-001 appears twice in the input: propose each item once"]
    assert dump(fed.db_path(COUNTY)) == before


@pytest.mark.parametrize("request_id", ["540102#²", "540102#١", "540102# 1", "540102#+1"])
def test_a_request_id_with_other_digits_is_one_line(fed, request_id):
    before = dump(fed.db_path(REGION))
    done = run(fed.home(REGION).path, "matter", "approve", request_id, ok=False)
    assert done.exit_code == 1
    assert done.output.splitlines() == [
        f"error: bad request id {request_id!r}: want ORIGIN#SEQ as 'tongban matter requests' "
        "lists it"]
    assert dump(fed.db_path(REGION)) == before


def test_a_retired_base_item_is_not_changed_by_approving_a_request(fed):
    """Approving a rename after the base was retired used to publish it again, unretired."""
    request_id = rename_proposed_at_region(fed)
    region = _open(fed, REGION)
    try:
        base_catalogue.retire(region, "GG00101000", "取消")
    finally:
        region.close()
    before = dump(fed.db_path(REGION))
    done = run(fed.home(REGION).path, "matter", "approve", request_id, ok=False)
    assert done.exit_code == 1 and done.output.splitlines() == [
        "error: base item GG00101000 was retired by 540000 (v2: 取消): a retired base item is "
        "not changed; propose a new base item under a new code"]
    assert dump(fed.db_path(REGION)) == before
    pull(fed, COUNTY)
    before = dump(fed.db_path(COUNTY))
    store = _open(fed, COUNTY)
    try:
        with pytest.raises(ChangeRequestError, match=r"^base item GG00101000 was retired by "
                           r"540000 "):
            change_requests.propose_item(store, item(name="居住证申办"), "")
    finally:
        store.close()
    assert dump(fed.db_path(COUNTY)) == before


def _second_answer(request_id: str) -> bytes:
    origin, _hash, seq = request_id.partition("#")
    return record_pb2.ChangeRequestAnswer(request_origin=origin, request_seq=int(seq),
                                          approve=False, reason="改主意",
                                          base_code="GG00101000").SerializeToString()


def test_an_answer_is_final_at_write_at_receipt_and_in_the_audit(fed):
    """A second answer (deny after approve) is refused when written, and when received from
    other software it is kept, not projected, listed and audited: before, the request was
    listed twice, once approved and once denied."""
    request_id = rename_proposed_at_region(fed)
    region = _open(fed, REGION)
    try:
        change_requests.approve(region, request_id)
    finally:
        region.close()
    before = dump(fed.db_path(REGION))
    region = _open(fed, REGION)
    try:
        with pytest.raises(AuthorityViolation) as refused:
            region.write([Draft(record_pb2.CHANGE_REQUEST_ANSWERED,
                                lambda _s, _h: _second_answer(request_id), COUNTY)])
    finally:
        region.close()
    assert refused.value.diagnostics() == (
        f"540000 already answered change request {request_id}; an answer is final "
        "(rule change-answer-once)")
    assert dump(fed.db_path(REGION)) == before
    seq = raw_write(fed, Forbidden(REGION, record_pb2.CHANGE_REQUEST_ANSWERED,
                                   _second_answer(request_id), COUNTY))
    pull(fed, COUNTY)
    store = _open(fed, COUNTY)
    try:
        mine = change_requests.listed(store)
        violations = store.db.execute("SELECT origin, seq, rule FROM authority_violations"
                                      ).fetchall()
        answers = store.db.execute("SELECT count(*) FROM change_answers").fetchone()[0]
    finally:
        store.close()
    assert [(r.id, r.status) for r in mine] == [(request_id, "approved")]
    assert violations == [(REGION, seq, "change-answer-once")] and answers == 1
    from node_fixtures import dump_projections

    projected = dump_projections(fed.db_path(COUNTY))
    store = _open(fed, COUNTY)
    try:
        store.rebuild()
    finally:
        store.close()
    assert dump_projections(fed.db_path(COUNTY)) == projected  # the same verdict on replay
    report = audit(fed.home(COUNTY).path, None).report
    assert [(f.origin, f.seq, f.check) for f in report.problems
            if f.check.startswith("authority:")] == [(REGION, seq,
                                                      "authority:change-answer-once")]


def test_approving_checks_the_received_proposal_like_an_own_file(fed):
    """A request written by other software, proposing a base item with no levels and an
    empty name, is refused at approve instead of published."""
    pull(fed, COUNTY)
    body = record_pb2.ChangeRequest(proposed=record_pb2.BaseItem(
        base_code="GG00101000", name=" ", type="公共服务", legal_basis="《条例》"),
        reason="r", impl_code="540102-GG-001").SerializeToString()
    seq = raw_write(fed, Forbidden(COUNTY, record_pb2.MATTER_CHANGE_REQUEST, body, REGION))
    replicate(fed, COUNTY, NOW - timedelta(minutes=40))
    before = dump(fed.db_path(REGION))
    done = run(fed.home(REGION).path, "matter", "approve", f"{COUNTY}#{seq}", ok=False)
    assert done.exit_code == 1 and done.output.splitlines() == [
        "error: base item GG00101000: name is empty"]
    assert dump(fed.db_path(REGION)) == before


def test_a_local_item_may_not_take_a_base_code_of_the_base_catalogue(fed):
    """local = true meant no 四级四同 check at all, so a county could rename 居住证核发 by
    marking it local; now a local item naming a held base item is refused and listed."""
    pull(fed, COUNTY)
    before = dump(fed.db_path(COUNTY))
    store = _open(fed, COUNTY)
    try:
        with pytest.raises(BaseMismatch) as refused:
            matters.publish(store, [item(name="居住证办理", local=True)])
    finally:
        store.close()
    assert str(refused.value) == (
        "matter 540102-GG-001: marked local (地方特色事项, no base item) but base_code "
        "GG00101000 is base item '居住证核发' v1 of 540000: drop local = true")
    assert dump(fed.db_path(COUNTY)) == before
    replicate(fed, COUNTY, NOW - timedelta(hours=1))
    raw_write(fed, Forbidden(COUNTY, record_pb2.MATTER_PUBLISHED, parse_matter(
        item(name="居住证办理", local=True), version=2).SerializeToString()))
    replicate(fed, COUNTY, NOW - timedelta(minutes=30))
    region = _open(fed, REGION)
    try:
        found = base_check.check(region.db, REGION, subtree=True)
    finally:
        region.close()
    assert [(d.publisher, d.impl_code, d.element) for d in found] == [
        (COUNTY, "540102-GG-001", "local")]


@pytest.mark.parametrize(("changes", "words"), [
    ({"levels": []}, "levels"),
    ({"base_code": ""}, "base_code"),
    ({"version": 0}, "version 0"),
])
def test_a_received_bad_base_item_is_a_projection_error_not_a_base(fed, changes, words):
    """Other software at the region writes a base item no base file could hold: the county
    stores the record (custody) but never compares its items with it."""
    good = base_catalogue.sample_base()[0]
    body = record_pb2.BaseItem(base_code=good["base_code"], name="另一个名称", type=good["type"],
                               legal_basis=good["legal_basis"], levels=["县级"], version=9)
    for field, value in changes.items():
        if isinstance(value, list):
            del getattr(body, field)[:]
        else:
            setattr(body, field, value)
    seq = raw_write(fed, Forbidden(REGION, record_pb2.BASE_ITEM_PUBLISHED,
                                   body.SerializeToString()))
    pull(fed, COUNTY)
    county = _open(fed, COUNTY)
    try:
        assert county.log.size(REGION) == seq + 1
        assert county.db.execute("SELECT count(*) FROM base_items WHERE origin = ? AND "
                                 "version = ?", (REGION, body.version)).fetchone() == (0,)
        (reason,) = county.db.execute("SELECT error FROM projection_errors WHERE origin = ? "
                                      "AND seq = ?", (REGION, seq)).fetchone()
    finally:
        county.close()
    assert words in reason

