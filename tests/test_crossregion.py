"""Cross-region cases over real `tongban serve` processes with mutual TLS on 127.0.0.1.

The two-region federation of tests/crossregion_fixtures.py: 异地代收代办 from Lhasa
(540102) to Urumqi (650102) and back, and within one prefecture (540102 → 540121);
多地联办 户口迁移 between 540121 and 650102; the same conversations partly by bundle;
authority at write and at receipt; privacy; the hand-over clock and the counts.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

from crossregion_fixtures import carry
from node_fixtures import ID_OK, dump_projections, tongban

from node.audits import audit
from node.workdays import CHINA_TZ as CHINA
from protos.tongban.v1 import record_pb2

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
        events = db.execute("SELECT count(*) FROM records WHERE data LIKE ?",
                            (f"%{case_no}%".encode(),)).fetchone()
        delivered = db.execute("SELECT count(*) FROM deliveries WHERE record LIKE ?",
                               (f"%{case_no}%".encode(),)).fetchone()
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
    """代收代办 540102 → 540121 (common ancestor 540100), and 多地联办 户口迁移 applied at
    540121 (迁入地: 准迁, 落户) with 650102 (迁出地: 迁出), each step by the node doing it."""
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

    move = cli(fed, "540121", "case", "apply", "--matter", "QR00101000", "--joint-with",
               "650102", "--applicant", ID_OK, "--name", "阿依古丽", "--material", "居民户口簿",
               "--material", "居民身份证", "--material",
               "落户依据材料（劳动合同、录取通知书、不动产权证书或亲属关系证明）",
               "--actor", "窗口01", "--quiet").stdout.strip()
    cli(fed, "540121", "case", "accept", move, "--actor", "窗口01")
    refused = cli(fed, "650102", "case", "step", move, check=False)
    assert refused.returncode == 1 and "not a 多地联办 case held here" in refused.stderr
    cli(fed, "540121", "case", "step", move, "--text", "准予迁入", "--actor", "窗口01")
    early = cli(fed, "540121", "case", "step", move, "--actor", "窗口01", check=False)
    assert early.returncode == 1 and "迁出, which is 650102's to do" in early.stderr
    carry(fed, "540121", "650102")
    cli(fed, "650102", "case", "step", move, "--text", "已迁出", "--actor", "窗口02")
    carry(fed, "650102", "540121")
    for action, extra in (("review", ()), ("decide", ("--approve",))):
        cli(fed, "540121", "case", action, move, *extra, "--actor", "窗口02")
    too_soon = cli(fed, "540121", "case", "conclude", move, "--actor", "窗口02", check=False)
    assert too_soon.returncode == 1 and "step 落户 (540121)" in too_soon.stderr
    cli(fed, "540121", "case", "step", move, "--text", "已落户", "--actor", "窗口01")
    cli(fed, "540121", "case", "conclude", move, "--actor", "窗口02")
    carry(fed, "540121", "650102")
    here, there = state(fed, "540121", move), state(fed, "650102", move)
    assert here["cross_region"]["steps_done"] == there["cross_region"]["steps_done"]
    assert [(s["step"], s["by"]) for s in here["cross_region"]["steps_done"]] == [
        ("准迁", "540121"), ("迁出", "650102"), ("落户", "540121")]
    assert here["state"] == "concluded"
    assert not held_case(fed, "540102", move)  # the sibling county is not concerned
    for division in fed.nodes:
        assert clean_audit(fed, division) == [], division
