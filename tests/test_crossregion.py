"""Cross-region cases over real `tongban serve` processes with mutual TLS on 127.0.0.1.

The two-region federation of tests/crossregion_fixtures.py: 异地代收代办 from Lhasa
(540102) to Urumqi (650102) and back, and within one prefecture (540102 → 540121);
多地联办 户口迁移 between 540121 and 650102; the same conversations partly by bundle;
authority at write and at receipt; privacy; the hand-over clock and the counts.
"""

from __future__ import annotations

import json
import sqlite3

from crossregion_fixtures import COUNTIES, path_between
from node_fixtures import ID_OK, tongban

from node.audits import audit
from protos.tongban.v1 import record_pb2

K = record_pb2
LIST_MATERIALS = ["--material", "居民身份证", "--material", "近期免冠照片", "--material",
                  "居住证明（房屋租赁合同或不动产权证书）"]


def home(fed, division):
    return fed.nodes[division].home


def cli(fed, division, *args, check=True):
    return tongban(*args, home=home(fed, division), check=check)


def carry(fed, a: str, b: str) -> None:
    """Sync every node on the way from ``a`` to ``b`` in order: the records ``a`` wrote
    reach ``b``, and ``b``'s reach ``a`` on the way back with ``carry(fed, b, a)``."""
    for division in path_between(a, b):
        fed.sync(division)


def spread_list(fed) -> None:
    """The national list goes down to every county."""
    for county in COUNTIES:
        carry(fed, "000000", county)


def hand_over(fed, receiver="540102", handler="650102", matter="GG00101000") -> str:
    out = cli(fed, receiver, "case", "apply", "--matter", matter, "--handled-by", handler,
              "--applicant", ID_OK, "--name", "扎西", *LIST_MATERIALS, "--actor", "窗口01",
              "--quiet").stdout
    return out.strip()


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
    spread_list(fed)
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
