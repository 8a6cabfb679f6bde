"""Cross-region cases over real `tongban serve` processes with mutual TLS on 127.0.0.1.

The two-region federation of tests/crossregion_fixtures.py: 异地代收代办 from Lhasa
(540102) to Urumqi (650102) and back, and within one prefecture (540102 → 540121);
多地联办 户口迁移 between 540121 and 650102; the same conversations partly by bundle;
authority at write and at receipt; privacy; the hand-over clock and the counts.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta

import pytest
from crossregion_fixtures import LIST_FILE, carry
from node_fixtures import ID_OK, append_signed, dump_projections, tongban

from node.audits import audit
from node.authority import AuthorityViolation, case_number
from node.clock import wall_ms
from node.home import Home
from node.store import Draft, NodeStore
from node.workdays import CHINA_TZ as CHINA
from node.workdays import date_of_ms
from pki import envelope
from protos.tongban.v1 import record_pb2
from sync import bundle as bundles

K = record_pb2
LIST_MATERIALS = ["--material", "居民身份证", "--material", "近期免冠照片", "--material",
                  "居住证明（房屋租赁合同或不动产权证书）"]


def home(fed, division):
    return fed.nodes[division].home


def cli(fed, division, *args, check=True):
    return tongban(*args, home=home(fed, division), check=check)


def hand_over(fed, receiver="540102", handler="650102", matter="GG00101000") -> str:
    out = cli(fed, receiver, "case", "apply", "--matter", matter, "--handled-by", handler,
              "--applicant", ID_OK, "--name", "扎西", *LIST_MATERIALS, "--actor", "窗口01",
              "--quiet").stdout
    return out.strip()


def later(days: int) -> dict:
    """$TONGBAN_CLOCK ``days`` calendar days from now, for reading lights then."""
    moment = datetime.now(CHINA) + timedelta(days=days)
    return {"TONGBAN_CLOCK": moment.replace(tzinfo=None).isoformat(timespec="minutes")}


def handover_clock(fed, division, case_no, env, *scope) -> str | None:
    """The light of the case's 交接 clock in `supervise list` at ``division``, or None."""
    rows = json.loads(tongban("supervise", "list", *scope, "--json", home=home(fed, division),
                              env=env).stdout)
    for row in rows:
        if row["case_no"] == case_no:
            found = [c["light"] for c in row["clocks"] if c["name"] == "交接"]
            return found[0] if found else None
    return None


def cross_counts(fed, division, *scope) -> dict:
    return json.loads(cli(fed, division, "stats", *scope, "--json").stdout)["cross_region"]


def state(fed, division, case_no) -> dict:
    return json.loads(cli(fed, division, "case", "show", case_no, "--history", "--json").stdout)


def clean_audit(fed, division) -> list:
    report = audit(home(fed, division), None).report
    return [(p.origin, p.seq, p.check) for p in report.problems]


def held_case(fed, division, case_no) -> bool:
    db = sqlite3.connect(home(fed, division) / "node.db")
    try:
        found = db.execute("SELECT count(*) FROM cases WHERE case_no = ?", (case_no,)).fetchone()
        # instr, not LIKE: LIKE reads a blob as text only up to its first NUL byte
        events = db.execute("SELECT count(*) FROM records WHERE instr(data, ?)",
                            (case_no.encode(),)).fetchone()
        delivered = db.execute("SELECT count(*) FROM deliveries WHERE instr(record, ?)",
                               (case_no.encode(),)).fetchone()
    finally:
        db.close()
    return bool(found[0] or events[0] or delivered[0])


def test_daishou_daiban_there_and_back_over_the_network(cross_fed):
    fed = cross_fed
    case_no = hand_over(fed)
    assert case_no.startswith("540102-")
    outgoing = json.loads(cli(fed, "540102", "case", "list", "--outgoing", "--json").stdout)
    assert [(r["case_no"], r["handler"], r["state"]) for r in outgoing] == [
        (case_no, "650102", "applied")]
    carry(fed, "540102", "650102")
    incoming = json.loads(cli(fed, "650102", "case", "list", "--incoming", "--json").stdout)
    assert [(r["case_no"], r["receiver"], r["state"]) for r in incoming] == [
        (case_no, "540102", "applied")]
    assert incoming[0]["arrived_ms"] is None  # the arrival is told with the first answer
    # a week on, the unanswered hand-over is red at both ends and at the common ancestor
    for division, scope in (("540102", ()), ("650102", ()), ("000000", ("--subtree",)),
                            ("650000", ("--subtree",))):
        assert handover_clock(fed, division, case_no, later(7), *scope) == "red", division
        waiting = json.loads(cli(fed, division, "case", "list", "--waiting-handover",
                                 "--json").stdout)
        assert [r["case_no"] for r in waiting] == [case_no], division
    assert handover_clock(fed, "540121", case_no, later(7), "--subtree") is None
    # the handler asks for a supplement; the receiving window collects it
    cli(fed, "650102", "case", "request-supplement", case_no, "--material", "就业或就读证明",
        "--actor", "窗口01")
    carry(fed, "650102", "540102")
    assert state(fed, "540102", case_no)["state"] == "supplement"
    cli(fed, "540102", "case", "supply", case_no, "--material", "就业或就读证明",
        "--actor", "窗口01")
    carry(fed, "540102", "650102")
    for action, extra in (("accept", ()), ("review", ()), ("decide", ("--approve",)),
                          ("conclude", ())):
        cli(fed, "650102", "case", action, case_no, *extra, "--actor", "窗口02")
    carry(fed, "650102", "540102")
    cli(fed, "540102", "case", "deliver", case_no, "--method", "窗口领取", "--actor", "窗口01")
    carry(fed, "540102", "650102")
    here, there = state(fed, "540102", case_no), state(fed, "650102", case_no)
    assert here["state"] == there["state"] == "delivered"
    for division in ("540102", "650102", "000000"):
        assert handover_clock(fed, division, case_no, later(7), "--subtree") is None
        assert cli(fed, division, "case", "list", "--waiting-handover", "--json").stdout \
            .strip() == "[]"
    assert cross_counts(fed, "540102") == {"received": 1, "handled": 0, "handled_concluded": 0}
    assert cross_counts(fed, "650102") == {"received": 0, "handled": 1, "handled_concluded": 1}
    assert cross_counts(fed, "000000", "--subtree") == {"received": 1, "handled": 1,
                                                       "handled_concluded": 1}
    page = fed.root / "national-report.html"
    cli(fed, "000000", "report", "--out", str(page), "--subtree")
    assert re.findall(r"<div class=card>(异地代收|异地承办)<b>(\d+)</b>",
                      page.read_text(encoding="utf-8")) == [("异地代收", "1"), ("异地承办", "1")]
    assert [(e["origin"], e["action"]) for e in here["history"]] == [
        ("540102", "apply"), ("650102", "request-supplement"), ("540102", "supply"),
        ("650102", "accept"), ("650102", "review"), ("650102", "decide"),
        ("650102", "conclude"), ("540102", "deliver")]
    assert here["history"] == there["history"]
    assert here["cross_region"] == there["cross_region"]
    cross = here["cross_region"]
    assert cross["submitted_ms"] < cross["arrived_ms"] <= cross["answered_ms"] \
        < cross["accepted_ms"]
    assert cross["answer"] == "request-supplement" and cross["due"] == here["due"] \
        == there["due"]
    # the ancestors of both ends hold it; the sibling subtree does not
    for division in ("540100", "540000", "000000", "650000", "650100"):
        assert held_case(fed, division, case_no), division
    assert not held_case(fed, "540121", case_no)
    for division in fed.nodes:
        assert clean_audit(fed, division) == [], division


def projections(fed, division) -> dict:
    return dump_projections(home(fed, division) / "node.db")


def test_by_bundle_with_links_down_and_answers_crossing_in_transit(cross_fed):
    """Xinjiang's two lower links are down (bundles only); the receiving window's 补齐 and
    the handler's 受理 are written while each other's record is still on the way, so the
    handler gets the 补齐 after its own later 受理. Both ends converge to the same case,
    a rebuild gives the same tables, and every audit is clean."""
    fed, down = cross_fed, frozenset({"650102", "650100"})
    case_no = hand_over(fed)
    carry(fed, "540102", "650102", down)
    # the reply bundle 650100 made for 650102 carries the hand-over as a delivery
    stick = audit(fed.root / "650102-down.tbb", None, reader=Home(home(fed, "650102"))).report
    assert [(p.origin, p.check) for p in stick.problems] == []
    tampered = fed.root / "tampered-down.tbb"
    tampered.write_bytes(tamper_delivery(fed, "650100", "650102", case_no))
    stick = audit(tampered, None, reader=Home(home(fed, "650102"))).report
    assert [(p.origin, p.check) for p in stick.problems] == [("650100", "delivery")]
    cli(fed, "650102", "case", "request-supplement", case_no, "--material", "就业或就读证明",
        "--actor", "窗口01")
    carry(fed, "650102", "540102", down)
    cli(fed, "540102", "case", "supply", case_no, "--material", "就业或就读证明",
        "--actor", "窗口01")
    cli(fed, "650102", "case", "accept", case_no, "--actor", "窗口02")  # before the 补齐 came
    carry(fed, "540102", "650102", down)
    carry(fed, "650102", "540102", down)
    here, there = state(fed, "540102", case_no), state(fed, "650102", case_no)
    assert here["state"] == there["state"] == "accepted"
    assert here["materials"] == there["materials"] and "就业或就读证明" in here["materials"]
    assert [e["action"] for e in there["history"]] == [
        "apply", "request-supplement", "supply", "accept"]
    assert here["history"] == there["history"]
    for action, extra in (("review", ()), ("decide", ("--approve",)), ("conclude", ()),
                          ("deliver", ("--method", "邮寄"))):   # the handler mails the result
        cli(fed, "650102", "case", action, case_no, *extra, "--actor", "窗口02")
    carry(fed, "650102", "540102", down)
    here, there = state(fed, "540102", case_no), state(fed, "650102", case_no)
    assert here["state"] == there["state"] == "delivered"
    assert here == there
    assert here["cross_region"]["arrived_ms"] > here["cross_region"]["submitted_ms"]
    for division in ("540102", "650102", "000000"):
        assert projection_errors(fed, division) == [], division
        before = projections(fed, division)
        cli(fed, division, "db", "rebuild")
        assert projections(fed, division) == before, division
    for division in fed.nodes:
        assert clean_audit(fed, division) == [], division


def projection_errors(fed, division) -> list:
    return projections(fed, division)["projection_errors"]


def test_within_a_prefecture_and_joint_household_move(cross_fed):
    """代收代办 540102 → 540121 (common ancestor 540100), and 多地联办 户口迁移 between 540121
    and 650102 over the network."""
    fed = cross_fed
    case_no = hand_over(fed, "540102", "540121")
    carry(fed, "540102", "540121")
    for action, extra in (("accept", ()), ("review", ()), ("decide", ("--approve",)),
                          ("conclude", ())):
        cli(fed, "540121", "case", action, case_no, *extra, "--actor", "窗口02")
    carry(fed, "540121", "540102")
    cli(fed, "540102", "case", "deliver", case_no, "--method", "窗口领取", "--actor", "窗口01")
    carry(fed, "540102", "540121")
    assert state(fed, "540102", case_no) == state(fed, "540121", case_no)
    assert state(fed, "540100", case_no)["state"] == "delivered"

    household_move(fed)


def test_joint_household_move_by_bundle_with_links_down(cross_fed):
    """The same 多地联办 with Xinjiang's two lower links down: every record of it crosses
    650100 and 650102 on bundle files; both ends converge and rebuild to the same tables."""
    fed, down = cross_fed, frozenset({"650102", "650100"})
    move = household_move(fed, down)
    for division in ("540121", "650102", "000000"):
        assert projection_errors(fed, division) == [], division
        before = projections(fed, division)
        cli(fed, division, "db", "rebuild")
        assert projections(fed, division) == before, division
    assert state(fed, "540121", move) == state(fed, "650102", move)


def household_move(fed, down: frozenset[str] = frozenset()) -> str:
    """户口迁移 applied at 540121 (迁入地: 准迁, 落户) with 650102 (迁出地: 迁出), each step by
    the node doing it, carried over the links ``down`` by bundle; returns the case number."""
    move = cli(fed, "540121", "case", "apply", "--matter", "QR00101000", "--joint-with",
               "650102", "--applicant", ID_OK, "--name", "阿依古丽", "--material", "居民户口簿",
               "--material", "居民身份证", "--material",
               "落户依据材料（劳动合同、录取通知书、不动产权证书或亲属关系证明）",
               "--actor", "窗口01", "--quiet").stdout.strip()
    cli(fed, "540121", "case", "accept", move, "--actor", "窗口01")
    store = _own(fed, "540121")
    try:   # the owner's events on a 联办 case go to the partner too
        with pytest.raises(AuthorityViolation) as unaddressed:
            store.write([Draft(K.CASE_EVENT, lambda _s, _h: _event(move, "review"), "")])
    finally:
        store.close()
    assert unaddressed.value.rule == "handover-recipient"
    refused = cli(fed, "650102", "case", "step", move, check=False)
    assert refused.returncode == 1 and "not a 多地联办 case held here" in refused.stderr
    cli(fed, "540121", "case", "step", move, "--text", "准予迁入", "--actor", "窗口01")
    early = cli(fed, "540121", "case", "step", move, "--actor", "窗口01", check=False)
    assert early.returncode == 1 and "迁出, which is 650102's to do" in early.stderr
    carry(fed, "540121", "650102", down)
    cli(fed, "650102", "case", "step", move, "--text", "已迁出", "--actor", "窗口02")
    carry(fed, "650102", "540121", down)
    for action, extra in (("review", ()), ("decide", ("--approve",))):
        cli(fed, "540121", "case", action, move, *extra, "--actor", "窗口02")
    too_soon = cli(fed, "540121", "case", "conclude", move, "--actor", "窗口02", check=False)
    assert too_soon.returncode == 1 and "step 落户 (540121)" in too_soon.stderr
    cli(fed, "540121", "case", "step", move, "--text", "已落户", "--actor", "窗口01")
    cli(fed, "540121", "case", "conclude", move, "--actor", "窗口02")
    carry(fed, "540121", "650102", down)
    here, there = state(fed, "540121", move), state(fed, "650102", move)
    assert here["cross_region"]["steps_done"] == there["cross_region"]["steps_done"]
    assert [(s["step"], s["by"]) for s in here["cross_region"]["steps_done"]] == [
        ("准迁", "540121"), ("迁出", "650102"), ("落户", "540121")]
    assert here["state"] == there["state"] == "concluded"  # the owner's 受理…办结 went across
    assert here["history"] == there["history"]
    assert [(e["origin"], e["action"]) for e in there["history"]] == [
        ("540121", "apply"), ("540121", "accept"), ("540121", "review"),
        ("540121", "decide"), ("540121", "conclude")]
    assert not held_case(fed, "540102", move)  # the sibling county is not concerned
    for division in fed.nodes:
        assert clean_audit(fed, division) == [], division
    return move


def dump(fed, division) -> list[str]:
    db = sqlite3.connect(home(fed, division) / "node.db")
    try:
        return list(db.iterdump())
    finally:
        db.close()


@pytest.mark.parametrize(("args", "message"), [
    (("--matter", "540102-XK-001", "--handled-by", "650102"),
     "matter 540102-XK-001 is not on the 跨省通办 list (version 1)"),
    (("--matter", "GG00101000", "--handled-by", "650100"),
     "650100 does not implement matter GG00101000 (居住证核发); on the 跨省通办 list it is "
     "implemented by 650102, 540121"),
    (("--matter", "GG00101000", "--handled-by", "659999"), "unknown handling node 659999"),
    (("--matter", "GG00101000", "--handled-by", "540102"), "--handled-by 540102 is this node"),
    (("--matter", "QR00101000", "--handled-by", "650102"), "is handled jointly (多地联办)"),
])
def test_bad_hand_over_is_refused_with_one_line_and_writes_nothing(cross_copy, args, message):
    before = dump(cross_copy, "540102")
    refused = cli(cross_copy, "540102", "case", "apply", *args, "--applicant", ID_OK, "--name",
                  "扎西", *LIST_MATERIALS, "--actor", "窗口01", check=False)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and message in refused.stderr
    assert dump(cross_copy, "540102") == before


def _own(fed, division) -> NodeStore:
    return NodeStore.open(Home(home(fed, division)))


def _apply_body(store: NodeStore, **fields):
    def body(seq: int, hlc: int) -> bytes:
        return K.CaseEvent(case_no=case_number(store.division, seq, hlc), action="apply",
                           actor="窗口01", matter_code="650102-GG-001", matter_version=1,
                           applicant_id=ID_OK, applicant_name="扎西", channel="window",
                           limit_days=10, **fields).SerializeToString()
    return body


def _event(case_no: str, action: str, **fields) -> bytes:
    return K.CaseEvent(case_no=case_no, action=action, actor="窗口01", **fields
                       ).SerializeToString()


def test_each_cross_region_rule_refuses_own_writes(cross_copy):
    fed = cross_copy
    case_no = hand_over(fed)      # held at 540102 only: nothing is synced here
    attempts = [
        ("540102", K.CASE_EVENT, None, "650100", "handover-recipient"),   # wrong recipient
        ("540102", K.CASE_EVENT, _event(case_no, "accept"), "650102", "handover-handler"),
        ("540102", K.CASE_EVENT, _event(case_no, "supply", materials=["户口簿"]), "",
         "handover-recipient"),
        ("540121", K.CASE_EVENT, _event(case_no, "accept"), "540102", "case-owner"),
        ("540000", K.CROSS_REGION_LIST, K.CrossRegionList(version=9).SerializeToString(), "",
         "crossregion-list"),
        ("540102", K.CROSS_REGION_STEP, K.CrossRegionStep(
            case_no=case_no, index=0, name="准迁", side="receiver").SerializeToString(),
         "650102", "joint-step"),
    ]
    for origin, kind, body, recipient, rule in attempts:
        before = dump(fed, origin)
        store = _own(fed, origin)
        make = _apply_body(store, handled_by="650102") if body is None else (
            lambda _s, _h, data=body: data)
        try:
            with pytest.raises(AuthorityViolation) as refused:
                store.write([Draft(kind, make, recipient)])
        finally:
            store.close()
        assert refused.value.rule == rule, (origin, kind, refused.value)
        assert dump(fed, origin) == before
    refused_cli = cli(fed, "540102", "case", "accept", case_no, check=False)
    assert refused_cli.returncode == 1 and refused_cli.stderr == (
        f"error: case {case_no} is handled by 650102; the receiving node 540102 may not "
        "accept it (rule handover-handler)\n")
    publish = cli(fed, "540000", "crossregion", "publish", str(LIST_FILE), check=False)
    assert publish.returncode == 1 and "published by the national node 000000" in publish.stderr


def raw_write(fed, origin: str, kind: int, body: bytes, recipient: str) -> int:
    """Append a record to ``origin``'s log signed with its real key, skipping every check
    (what a node running other software could do); returns its seq."""
    store = _own(fed, origin)
    try:
        return append_signed(store, origin, kind, body, recipient, wall_ms())
    finally:
        store.close()


def test_forbidden_answers_are_kept_not_projected_and_audited(cross_fed):
    """Records no honest node writes, signed by their origins and carried by the real sync:
    the common ancestor keeps them, applies none, lists each with its rule, and
    `audit verify` names each at its origin and seq."""
    fed = cross_fed
    case_no = hand_over(fed)
    carry(fed, "540102", "650102")
    forged = [
        ("650100", K.CASE_EVENT, _event(case_no, "accept"), "540102", "case-owner"),
        # read by the audit before 540102's apply: judged once the apply is read
        ("540000", K.CASE_EVENT, _event(case_no, "accept"), "540102", "case-owner"),
        ("650102", K.CASE_EVENT, _event(case_no, "withdraw", reason="x"), "540102",
         "case-owner"),
        ("650102", K.CASE_EVENT, _event(case_no, "accept"), "", "handover-recipient"),
        ("540102", K.CASE_EVENT, _event(case_no, "accept"), "650102", "handover-handler"),
        ("540000", K.CROSS_REGION_LIST, K.CrossRegionList(version=9).SerializeToString(), "",
         "crossregion-list"),
    ]
    expected = sorted((origin, raw_write(fed, origin, kind, body, to), rule)
                      for origin, kind, body, to, rule in forged)
    carry(fed, "650102", "000000")
    carry(fed, "650100", "000000")
    carry(fed, "540102", "000000")
    top = projections(fed, "000000")
    assert sorted((o, s, r) for o, s, _k, r, _ in top["authority_violations"]) == expected
    assert state(fed, "000000", case_no)["state"] == "applied"
    assert [(o, s, c.split(":")[1]) for o, s, c in sorted(clean_audit(fed, "000000"))] == \
        expected
    carry(fed, "000000", "540102")
    assert state(fed, "540102", case_no)["state"] == "applied"  # no forged answer came down
    # of the forged records only the ancestor's list comes down to the county, flagged too
    assert [(o, s, r) for o, s, _k, r, _ in projections(fed, "540102")["authority_violations"]
            if o != "540102"] == [e for e in expected if e[0] == "540000"]
    # at the handler the apply is a delivery, verified by the audit and read after the logs
    carry(fed, "650100", "650102")
    assert [(o, s, c.split(":")[1]) for o, s, c in sorted(clean_audit(fed, "650102"))] == \
        [e for e in expected if e[0] in ("650100", "650102")]


def forged_apply(fed, origin: str, recipient: str, **fields) -> tuple[str, int]:
    """An apply signed by ``origin``'s real key that skipped the window's checks; returns
    its case number and seq."""
    store = _own(fed, origin)
    try:
        seq, at = store.log.size(origin), wall_ms()
        case_no = f"{origin}-{date_of_ms(at).year}-{seq:07d}"
        body = K.CaseEvent(case_no=case_no, action="apply", actor="窗口01",
                           applicant_id=ID_OK, applicant_name="扎西", channel="window",
                           matter_version=fields["list_version"], **fields).SerializeToString()
        assert append_signed(store, origin, K.CASE_EVENT, body, recipient, at) == seq
    finally:
        store.close()
    return case_no, seq


def problem_ids(fed, division) -> list[str]:
    listed = cli(fed, division, "problems", "list", "--json", check=False)
    return [p["id"] for p in json.loads(listed.stdout)]


@pytest.mark.parametrize(("fields", "message"), [
    ({"matter_code": "540102-XK-001", "limit_days": 10},
     "matter 540102-XK-001 is not on the 跨省通办 list (version 1)"),
    ({"matter_code": "650102-GG-001", "limit_days": 99},
     "promises 99 working days; the 跨省通办 list (version 1) says 10"),
    ({"matter_code": "650102-GG-001", "limit_days": 10, "materials": ["户口簿"]},
     "collected 户口簿, which the 跨省通办 list (version 1) does not name for 650102"),
])
def test_received_hand_over_the_list_does_not_allow_is_flagged_not_projected(
        cross_fed, fields, message):
    fed = cross_fed
    case_no, seq = forged_apply(fed, "540102", "650102", handled_by="650102", list_version=1,
                                **fields)
    carry(fed, "540102", "650102")
    for division in ("650102", "000000", "540100"):
        errors = [(o, s) for o, s, error in projection_errors(fed, division) if message in error]
        assert errors == [("540102", seq)], division
        assert not held_case_row(fed, division, case_no), division
        assert f"projection:540102#{seq}" in problem_ids(fed, division), division
    assert json.loads(cli(fed, "650102", "case", "list", "--incoming", "--json").stdout) == []


def test_hand_over_citing_a_list_not_yet_held_is_judged_when_it_arrives(cross_fed, tmp_path):
    """The verdict is the one the cited list version gives, wherever and whenever that
    version arrives: held provisionally (and listed in problems) until then."""
    fed = cross_fed
    case_no, seq = forged_apply(fed, "540102", "650102", handled_by="650102", list_version=2,
                                matter_code="650102-GG-001", limit_days=10)
    carry(fed, "540102", "650102")
    assert held_case_row(fed, "650102", case_no)
    assert f"crossregion:{case_no}" in problem_ids(fed, "650102")
    version_2 = tmp_path / "list-v2.toml"  # 650102 no longer implements 居住证核发
    version_2.write_text('version = 2\n[[items]]\nbase_code = "GG00101000"\nname = "居住证核发"\n'
                         '[[items.implementers]]\ndivision = "540121"\n'
                         'impl_code = "540121-GG-001"\npromised_limit_days = 10\n',
                         encoding="utf-8")
    cli(fed, "000000", "crossregion", "publish", str(version_2))
    carry(fed, "000000", "650102")
    for division in ("650102", "000000"):
        assert [(o, s) for o, s, e in projection_errors(fed, division)
                if "matter 650102-GG-001 is not on the 跨省通办 list (version 2)" in e] == [
            ("540102", seq)], division
        assert not held_case_row(fed, division, case_no), division
        assert f"crossregion:{case_no}" not in problem_ids(fed, division), division
        before = projections(fed, division)
        cli(fed, division, "db", "rebuild")
        assert projections(fed, division) == before, division


def held_case_row(fed, division, case_no) -> bool:
    return state_or_none(fed, division, case_no) is not None


def state_or_none(fed, division, case_no) -> dict | None:
    shown = cli(fed, division, "case", "show", case_no, "--json", check=False)
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def test_audit_verifies_each_delivery_against_its_signed_checkpoint(cross_fed):
    fed = cross_fed
    case_no = hand_over(fed)
    carry(fed, "540102", "650102")
    assert clean_audit(fed, "650102") == []
    db = sqlite3.connect(home(fed, "650102") / "node.db")
    try:
        with db:
            origin, seq, data = db.execute("SELECT origin, seq, record FROM deliveries WHERE"
                                           " instr(record, ?)", (case_no.encode(),)
                                           ).fetchone()
            db.execute("UPDATE deliveries SET record = ? WHERE origin = ? AND seq = ?",
                       (data.replace("扎西".encode(), "李四".encode()), origin, seq))
    finally:
        db.close()
    assert clean_audit(fed, "650102") == [("540102", seq, "delivery")]


def tamper_delivery(fed, sender: str, recipient: str, case_no: str) -> bytes:
    """The reply bundle ``sender`` made for ``recipient`` with the hand-over's bytes changed,
    sealed again with the sender's real key: only the inclusion proof can tell."""
    to, by = Home(home(fed, recipient)), Home(home(fed, sender))
    sealed = bundles.read((fed.root / f"{recipient}-down.tbb").read_bytes(), "bundle")
    contents = bundles.open_contents(sealed, to.signing_key(), "bundle")
    (carried,) = [d for d in contents.deliveries if case_no.encode() in d.record]
    carried.record = carried.record.replace("扎西".encode(), "李四".encode())
    return envelope.seal(contents.SerializeToString(), sender=sender, recipient=recipient,
                         recipient_cert=to.cert_chain().cert, chain=by.cert_chain().all()[:-1],
                         signing_key=by.signing_key(), created_ms=contents.created_ms)
