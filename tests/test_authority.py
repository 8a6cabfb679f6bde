"""The authority table, rule by rule: refused at write, harmless when received, audited.

For every rule a forbidden record is built. Written through NodeStore.write it
is refused with the rule's id and the database stays byte for byte the same.
Written raw into the origin's log with the origin's real key (a misbehaving or
outdated node, bypassing every check) and pushed to the region through the
real Receiver, it is stored (custody), never projected (the region's
projections differ only by the one authority_violations row), listed by
``tongban problems`` and reported by ``audit verify`` at its origin and seq.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from audit_fixtures import COUNTIES, NOW, REGION, START, build, make_home, pinned_clock, replicate
from node_fixtures import append_signed, dump_projections
from pki_fixtures import enrol

from node import cases, problems, staff
from node.audits import audit
from node.authority import AuthorityViolation
from node.catalogue_file import parse_matter, sample_catalogue
from node.licence_format import licence_number
from node.store import Draft, NodeStore
from pki import keys
from pki.seal_certs import issue_seal
from protos.tongban.v1 import record_pb2
from sync.certstore import der

COUNTY, SIBLING = COUNTIES  # 540102, 540121
NEWCOMER = "540122"  # a county of the region whose log the region has never held
AT = NOW - timedelta(hours=2)
K = record_pb2


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build(tmp_path_factory.mktemp("authority") / "fed")


@pytest.fixture
def fed(template, tmp_path):
    return template.copy_to(tmp_path / "fed")


@dataclass(frozen=True)
class Forbidden:
    origin: str
    kind: int
    body: bytes
    recipient: str = ""


def _case(fed, code: str = COUNTY) -> str:
    return fed.cases[code][0]


def _open(fed, code: str) -> NodeStore:
    return NodeStore.open(fed.home(code))


def _event(case_no: str, action: str, actor: str = "窗口1", **fields) -> bytes:
    return K.CaseEvent(case_no=case_no, action=action, actor=actor, **fields).SerializeToString()


def _review_by_approver(fed) -> Forbidden:
    """One person reviews (allowed), then decides without a one-person office."""
    store = _open(fed, SIBLING)
    try:
        staff.add(store, "审批1", "一人", ["reviewer", "approver"])
        cases.act(store, _case(fed, SIBLING), "review", actor="审批1")
    finally:
        store.close()
    return Forbidden(SIBLING, K.CASE_EVENT, _event(_case(fed, SIBLING), "decide", "审批1",
                                                   approve=True))


def _seal(fed) -> Forbidden:
    key = keys.generate_key()
    cert = issue_seal(key.public_key(), "11540102015712342L", "拉萨市公安局城关分局",
                      fed.counties[COUNTY].cert, fed.counties[COUNTY].key,
                      datetime.now(UTC), 30)
    return Forbidden(SIBLING, K.SEAL_ISSUED, K.SealIssued(
        certificate_der=der(cert), body_uscc="11540102015712342L",
        body_name="拉萨市公安局城关分局").SerializeToString())


def _matter(code_division: str) -> bytes:
    return parse_matter(sample_catalogue(code_division)[3]).SerializeToString()


#: rule id -> how to make a record that breaks it (preparing legitimate records first
#: where the rule needs them).
CASES: dict[str, Callable[..., Forbidden]] = {
    "case-owner": lambda fed: Forbidden(SIBLING, K.CASE_EVENT, _event(
        _case(fed), "withdraw", reason="上级撤回")),
    "case-number": lambda fed: Forbidden(SIBLING, K.CASE_EVENT, K.CaseEvent(
        case_no=f"{SIBLING}-2026-9999999", action="apply", actor="窗口1",
        matter_code=f"{SIBLING}-QR-001", matter_version=1, applicant_id="540102199001010011",
        applicant_name="测试", channel="window", limit_days=5).SerializeToString()),
    "theme-owner": lambda fed: Forbidden(SIBLING, K.CASE_EVENT, K.CaseEvent(
        case_no=f"{SIBLING}-2026-9999999", action="apply", actor="窗口1",
        matter_code=f"{SIBLING}-XK-001", matter_version=1, applicant_id="540102199001010011",
        applicant_name="测试", channel="window", limit_days=3,
        theme_case=_case(fed)).SerializeToString()),
    "staff-active": lambda fed: Forbidden(SIBLING, K.CASE_EVENT, _event(
        _case(fed, SIBLING), "review", actor="无名")),
    "staff-role": lambda fed: Forbidden(SIBLING, K.CASE_EVENT, _event(
        _case(fed, SIBLING), "review")),
    "review-and-decide": _review_by_approver,
    "catalogue-namespace": lambda fed: Forbidden(SIBLING, K.MATTER_PUBLISHED, _matter(COUNTY)),
    "catalogue-publisher": lambda fed: Forbidden(SIBLING, K.MATTER_RETIRED, K.MatterRetired(
        impl_code=sample_catalogue(REGION)[0]["impl_code"], version=1,
        reason="越权").SerializeToString()),
    "licence-revoker": lambda fed: Forbidden(SIBLING, K.LICENCE_REVOKED, K.LicenceRevoked(
        licence_id=licence_number("GA0001", "11540102015712342L", COUNTY, 7),
        reason="越权", revoked_at_ms=1).SerializeToString()),
    "licence-relay": lambda fed: Forbidden(SIBLING, K.LICENCE_STATUS, b""),
    "seal-issuer": _seal,
    "cert-issuer": lambda fed: Forbidden(SIBLING, K.CERT_ISSUED, K.CertIssued(
        certificate_der=der(fed.region.cert)).SerializeToString()),
    "key-owner": lambda fed: Forbidden(SIBLING, K.KEY_ROTATED, K.KeyRotated(
        new_certificate_der=der(fed.counties[COUNTY].cert)).SerializeToString()),
    "calendar-level": lambda fed: Forbidden(SIBLING, K.CALENDAR_NOTICE, K.CalendarNotice(
        year=2026, holidays=["2026-12-01"]).SerializeToString()),
    "notice-recipient": lambda fed: Forbidden(SIBLING, K.POLICY_NOTICE, K.PolicyNotice(
        title="t", text="x").SerializeToString(), "12345"),
    "change-request": lambda fed: Forbidden(SIBLING, K.MATTER_CHANGE_REQUEST, K.ChangeRequest(
        proposed=K.BaseItem(base_code="GG00101000", name="居住证申领"),
        reason="越级").SerializeToString(), COUNTY),
    "base-publisher": lambda fed: Forbidden(SIBLING, K.BASE_ITEM_PUBLISHED, K.BaseItem(
        base_code="GG00101000", version=1, name="居住证核发", type="公共服务",
        legal_basis="《居住证暂行条例》", levels=["县级"]).SerializeToString()),
    "change-answer": lambda fed: Forbidden(SIBLING, K.CHANGE_REQUEST_ANSWERED,
                                           K.ChangeRequestAnswer(
        request_origin=COUNTY, request_seq=3, approve=True).SerializeToString(), COUNTY),
    "supervision-ancestor": lambda fed: Forbidden(SIBLING, K.SUPERVISION_NOTICE,
                                                  K.SupervisionNotice(
        case_no=_case(fed), text="督办", due_days=3).SerializeToString(), COUNTY),
    "supervision-recipient": lambda fed: Forbidden(COUNTY, K.SUPERVISION_NOTICE,
                                                   K.SupervisionNotice(
        case_no="540102001000-2026-0000001", text="督办", due_days=3).SerializeToString(),
        SIBLING),
    "reply-recipient": lambda fed: Forbidden(COUNTY, K.SUPERVISION_REPLY, K.SupervisionReply(
        notice_origin=REGION, notice_seq=1, case_no=_case(fed), text="已办").SerializeToString(),
        SIBLING),
    "case-owner/evaluation": lambda fed: Forbidden(SIBLING, K.EVALUATION, K.Evaluation(
        case_no=_case(fed), level=1, evaluator_kind="applicant", channel="online",
        evaluator="540102199001010011").SerializeToString()),
    "staff-active/paper-card": lambda fed: Forbidden(SIBLING, K.EVALUATION, K.Evaluation(
        case_no=_case(fed, SIBLING), level=2, evaluator_kind="paper-card", channel="window",
        evaluator="540102199001010011", entered_by="无名").SerializeToString()),
    "staff-role/follow-up": lambda fed: Forbidden(SIBLING, K.EVALUATION_FOLLOW_UP,
                                                  K.EvaluationFollowUp(
        evaluation_origin=SIBLING, evaluation_seq=1, case_no=_case(fed, SIBLING),
        step="verify", text="电话回访", actor="窗口1").SerializeToString()),
    "notice-recipient/unknown": lambda fed: Forbidden(SIBLING, K.POLICY_NOTICE,
                                                      K.PolicyNotice(
        title="t", text="x").SerializeToString(), "540199"),
    "staff-register": lambda fed: Forbidden(SIBLING, K.STAFF_DISABLED, K.StaffDisabled(
        staff_id="nobody").SerializeToString()),
    "body-parse": lambda fed: Forbidden(SIBLING, K.CASE_EVENT, b"\x0a\xff"),
    "unknown-kind": lambda fed: Forbidden(SIBLING, 99, b"\x0a\x03new"),
}


def _rule(name: str) -> str:
    return name.split("/")[0]


def _dump(path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def raw_write(fed, forbidden: Forbidden) -> int:
    """Append a record to its origin's log and sign it with the origin's key, skipping every
    check (what a node running other software could do); returns its seq."""
    store = _open(fed, forbidden.origin)
    try:
        return append_signed(store, forbidden.origin, forbidden.kind, forbidden.body,
                             forbidden.recipient, int(AT.timestamp() * 1000))
    finally:
        store.close()


@pytest.mark.parametrize("name", list(CASES))
def test_own_write_is_refused_and_writes_nothing(fed, name):
    with pinned_clock(AT):
        forbidden = CASES[name](fed)
        before = _dump(fed.db_path(forbidden.origin))
        store = _open(fed, forbidden.origin)
        try:
            with pytest.raises(AuthorityViolation) as refused:
                store.write([Draft(forbidden.kind, lambda _s, _h: forbidden.body,
                                   forbidden.recipient)])
        finally:
            store.close()
    assert refused.value.rule == _rule(name)
    assert f"(rule {_rule(name)})" in refused.value.diagnostics()
    assert _dump(fed.db_path(forbidden.origin)) == before


def test_an_answer_by_an_ancestor_goes_to_the_proposer_only(fed):
    """The region may answer 540102's request, but only to 540102 (written at the region)."""
    before = _dump(fed.db_path(REGION))
    store = _open(fed, REGION)
    body = K.ChangeRequestAnswer(request_origin=COUNTY, request_seq=3, approve=False,
                                 reason="r").SerializeToString()
    try:
        with pytest.raises(AuthorityViolation) as refused:
            store.write([Draft(K.CHANGE_REQUEST_ANSWERED, lambda _s, _h: body, SIBLING)])
    finally:
        store.close()
    assert refused.value.diagnostics() == (
        "an answer to change request 540102#3 comes from an ancestor of the proposer and is "
        "addressed to it; 540000 wrote one addressed to 540121 (rule change-answer)")
    assert _dump(fed.db_path(REGION)) == before


def test_refusal_names_rule_and_owner(fed):
    """The region holds the county's case, and may not withdraw it."""
    store = _open(fed, REGION)
    try:
        with pytest.raises(AuthorityViolation) as refused:
            cases.act(store, _case(fed), "withdraw", actor="窗口1", reason="上级撤回")
    finally:
        store.close()
    assert refused.value.diagnostics() == (
        f"case {_case(fed)} belongs to {COUNTY}; {REGION} may not withdraw it (rule case-owner)")


@pytest.mark.parametrize("name", list(CASES))
def test_received_violation_is_kept_not_projected_listed_and_audited(fed, name):
    with pinned_clock(AT):
        forbidden = CASES[name](fed)
    origin = forbidden.origin
    replicate(fed, origin, NOW - timedelta(hours=1))  # the legitimate records before it
    before = dump_projections(fed.db_path(REGION))
    seq = raw_write(fed, forbidden)
    replicate(fed, origin, NOW - timedelta(minutes=30))
    region = _open(fed, REGION)
    try:
        assert region.log.size(origin) == seq + 1  # stored: the log stays the truth
        after = dump_projections(fed.db_path(REGION))
        violations = after.pop("authority_violations")
        assert [(o, s, r) for o, s, _k, r, _ in violations] == [(origin, seq, _rule(name))]
        before.pop("authority_violations")
        assert after == before  # nothing of it was applied anywhere
        listed = {p.id: p for p in problems.listed(region.db)}
    finally:
        region.close()
    source = "unknown-kind" if name == "unknown-kind" else "authority"
    assert listed[f"{source}:{origin}#{seq}"].rule == _rule(name)
    for home in (REGION, origin):
        report = audit(fed.home(home).path, None).report
        flagged = [(f.origin, f.seq, f.check) for f in report.problems
                   if f.check.startswith("authority:")]
        assert flagged == [(origin, seq, f"authority:{_rule(name)}")], report.text()


def test_later_honest_records_still_count(fed):
    """A child's violation does not hold up its later records (custody kept)."""
    seq = raw_write(fed, CASES["case-owner"](fed))
    store = _open(fed, SIBLING)
    try:
        cases.act(store, _case(fed, SIBLING), "withdraw", actor="窗口1", reason="申请人撤回")
    finally:
        store.close()
    replicate(fed, SIBLING, NOW - timedelta(minutes=30))
    region = _open(fed, REGION)
    try:
        state = region.db.execute("SELECT state FROM cases WHERE case_no = ?",
                                  (_case(fed, SIBLING),)).fetchone()
        owner_case = region.db.execute("SELECT state FROM cases WHERE case_no = ?",
                                       (_case(fed),)).fetchone()
        assert region.log.size(SIBLING) == seq + 2
    finally:
        region.close()
    assert state == ("withdrawn",) and owner_case == ("accepted",)


def test_rebuild_keeps_violations_out(fed):
    raw_write(fed, CASES["case-owner"](fed))
    replicate(fed, SIBLING, NOW - timedelta(minutes=30))
    before = dump_projections(fed.db_path(REGION))
    region = _open(fed, REGION)
    try:
        region.rebuild()
    finally:
        region.close()
    assert dump_projections(fed.db_path(REGION)) == before


def test_a_log_arriving_for_the_first_time_is_judged_against_its_own_register(fed):
    """A new county's first batch brings its register and a step by someone not on it.

    The batch is projected before it is appended, so the region holds none of the log
    yet; the stranger must still be kept as a violation (the permissive answer is for a
    cross-region handler's delivered answer only, whose register is held elsewhere)."""
    newcomer = enrol(NEWCOMER, fed.region, START, 365)
    make_home(fed.base, newcomer, [fed.region.cert], fed.root)
    with pinned_clock(AT):
        store = _open(fed, NEWCOMER)
        try:
            staff.add(store, "窗口1", "测试", ["clerk"])
        finally:
            store.close()
        seq = raw_write(fed, Forbidden(NEWCOMER, K.CASE_EVENT, _event(
            f"{NEWCOMER}-2026-0000001", "withdraw", actor="无名", reason="x")))
    replicate(fed, NEWCOMER, NOW - timedelta(minutes=30))
    region = _open(fed, REGION)
    try:
        kept = region.db.execute("SELECT origin, seq, rule FROM authority_violations"
                                 ).fetchall()
    finally:
        region.close()
    assert kept == [(NEWCOMER, seq, "staff-active")]


def test_record_over_the_receive_limit_is_refused_at_write(fed):
    before = _dump(fed.db_path(SIBLING))
    body = K.PolicyNotice(title="长", text="名" * 24_000).SerializeToString()  # 72 kB
    store = _open(fed, SIBLING)
    try:
        with pytest.raises(Exception, match="every receiver refuses records over 65536 bytes"):
            store.write([Draft(K.POLICY_NOTICE, lambda _s, _h: body, COUNTY)])
    finally:
        store.close()
    assert _dump(fed.db_path(SIBLING)) == before


def test_home_whose_division_is_not_its_certificates_writes_nothing(fed):
    home = fed.home(SIBLING)
    config = home.load_config()
    config.division = "999999"
    home.save_config(config)
    before = _dump(home.db_path)
    store = NodeStore.open(home)
    try:
        with pytest.raises(AuthorityViolation) as refused:
            store.write([Draft(K.POLICY_NOTICE, lambda _s, _h: K.PolicyNotice(
                title="t").SerializeToString(), COUNTY)])
    finally:
        store.close()
    assert refused.value.rule == "home-division"
    assert "node.crt is 540121's" in str(refused.value)
    assert _dump(home.db_path) == before


def test_one_person_office_is_allowed_by_config_and_recorded(fed):
    home = fed.home(SIBLING)
    config = home.load_config()
    config.staff_one_person_office = True
    home.save_config(config)
    store = NodeStore.open(home)
    try:
        staff.add(store, "审批1", "一人", ["reviewer", "approver"])
        case_no = _case(fed, SIBLING)
        cases.act(store, case_no, "review", actor="审批1")
        decided = cases.act(store, case_no, "decide", actor="审批1", approve=True)
        history = cases.history(store, case_no)
    finally:
        store.close()
    assert decided.case.decision == "approved"
    assert history[-1]["details"]["one_person_office"] is True
    assert history[-1]["os_login"]
    replicate(fed, SIBLING, NOW - timedelta(minutes=30))
    assert not [f for f in audit(fed.home(REGION).path, None).report.problems
                if f.check.startswith("authority:")]


def test_disabled_staff_may_not_act(fed):
    store = _open(fed, SIBLING)
    try:
        staff.disable(store, "窗口1", "调离")
        with pytest.raises(AuthorityViolation) as refused:
            cases.act(store, _case(fed, SIBLING), "withdraw", actor="窗口1", reason="r")
    finally:
        store.close()
    assert refused.value.rule == "staff-active"
    assert "is disabled on 540121's staff register" in str(refused.value)


def test_design_prints_the_table():
    """DESIGN.md's authority table has a row for every kind, with the same rule ids."""
    from pathlib import Path

    from node.authority import TABLE

    design = (Path(__file__).resolve().parents[1] / "DESIGN.md").read_text(encoding="utf-8")
    for kind, rule in TABLE.items():
        row = next((line for line in design.splitlines()
                    if line.startswith(f"| {kind} {K.Kind.Name(kind)} |")), None)
        assert row is not None, f"DESIGN.md has no row for kind {kind}"
        assert row.rstrip(" |").endswith(", ".join(rule.rule_ids)), row
