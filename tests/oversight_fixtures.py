"""A fixed federation for the supervision, statistics and report suites.

National 000000 (CA only) → region 540000 → counties 540102 and 540121, each
enrolled with the real ``tongban pki`` commands. Both counties load the
城关区 sample catalogue (each with codes in its own namespace) and register the
test staff. Every case is taken through the real CLI with the
clock pinned, in time order, so the golden figures in the tests can be worked
out by hand from the dates written here (working days per chinese-calendar;
2026's 国庆 holiday is 10-01…10-07 with 10-10, a Saturday, worked).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from node_fixtures import ID_OK, register_staff, run, tongban

from ops.localfed import Federation

REGION, COUNTY_A, COUNTY_B = "540000", "540102", "540121"
ID_B = "540121198507150024"
GG001 = "540102-GG-001"   # limit 10 working days
GG004 = "540102-GG-004"   # limit 5
QR003 = "540102-QR-003"   # limit 0: 即办件


def at(day: str, hour: str = "10:00") -> dict:
    return {"TONGBAN_CLOCK": f"{day}T{hour}"}


@contextmanager
def pinned(day: str) -> Iterator[None]:
    """$TONGBAN_CLOCK for commands that run as subprocesses and take no env of their own."""
    saved = os.environ.get("TONGBAN_CLOCK")
    os.environ["TONGBAN_CLOCK"] = at(day)["TONGBAN_CLOCK"]
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TONGBAN_CLOCK"]
        else:
            os.environ["TONGBAN_CLOCK"] = saved


def required(home: Path, code: str) -> list[str]:
    detail = json.loads(run(home, "matter", "show", code, "--json").output)
    return [m["name"] for m in detail["materials"] if m.get("required")]


def flags(names: list[str]) -> list[str]:
    return [arg for name in names for arg in ("--material", name)]


def own(home: Path, code: str) -> str:
    """A sample code as the county of ``home`` (its folder is named by division) publishes it."""
    return home.name + code[len(COUNTY_A):]


def apply(home: Path, code: str, day: str, channel: str = "window", applicant: str = ID_OK,
          materials: list[str] | None = None) -> str:
    code = own(home, code)
    names = required(home, code) if materials is None else materials
    out = run(home, "case", "apply", "--matter", code, "--applicant", applicant, "--name", "扎西",
              "--channel", channel, *flags(names), "--actor", "窗口01", env=at(day)).output
    return out.split()[0]


def step(home: Path, case_no: str, day: str, action: str, *extra: str) -> None:
    run(home, "case", action, case_no, *extra, "--actor", "窗口02", env=at(day))


def conclude(home: Path, case_no: str, day: str) -> None:
    for action, extra in (("review", ()), ("decide", ("--approve",)), ("conclude", ())):
        step(home, case_no, day, action, *extra)


def build(root: Path) -> tuple[Federation, dict[str, str]]:
    fed = Federation(root, run=tongban)
    # Enrolment writes records too (CERT_ISSUED at each issuer), so it runs on the same
    # pinned calendar as the cases: no log may hold a time later than the writes below.
    with pinned("2026-03-01"):
        fed.add("000000")
        fed.add(REGION, "000000")
        fed.add(COUNTY_A, REGION)
        fed.add(COUNTY_B, REGION)
    a, b = fed.nodes[COUNTY_A].home, fed.nodes[COUNTY_B].home
    for home in (a, b):
        tongban("matter", "import", "--sample", home=home, env=at("2026-03-01"))
        register_staff(home, at("2026-03-01"))
    c: dict[str, str] = {}
    # County A, in time order.
    c["c1"] = apply(a, GG001, "2026-03-02")
    step(a, c["c1"], "2026-03-02", "accept")
    c["c2"] = apply(a, GG001, "2026-03-03", "online")
    step(a, c["c2"], "2026-03-03", "accept")
    conclude(a, c["c1"], "2026-03-04")                  # 2 working days, on time
    photo = required(a, own(a, GG001))[1]
    step(a, c["c2"], "2026-03-05", "request-supplement", "--material", photo)
    step(a, c["c2"], "2026-03-10", "supply", "--material", photo)   # paused 3 working days
    conclude(a, c["c2"], "2026-03-12")                  # 7 - 3 = 4 working days, on time
    run(a, "evaluation", "add", c["c1"], "--level", "非常满意", "--via", "mobile",
        env=at("2026-03-13"))
    run(a, "evaluation", "add", c["c2"], "--level", "1", "--via", "online",
        "--comment", "补正要求不清楚", env=at("2026-03-13"))
    close_loop(a, c["c2"])                              # 03-16, 03-20, 03-24
    c["c3"] = apply(a, GG001, "2026-04-01", "mobile")
    step(a, c["c3"], "2026-04-01", "reject", "--reason", "不属于本机关职权范围")
    c["c4"] = apply(a, GG001, "2026-04-02", "self-service")
    step(a, c["c4"], "2026-04-02", "withdraw", "--reason", "申请人撤回")
    c["c6"] = apply(a, QR003, "2026-05-06")
    step(a, c["c6"], "2026-05-06", "accept")
    conclude(a, c["c6"], "2026-05-06")                  # 即办件: 0 days, on time
    c["c5"] = apply(a, GG004, "2026-09-28")
    step(a, c["c5"], "2026-09-28", "accept")            # due 10-10 (the worked Saturday)
    conclude(a, c["c5"], "2026-10-12")                  # 6 working days: late
    run(a, "evaluation", "add", c["c5"], "--level", "不满意", "--via", "paper-card",
        "--entered-by", "窗口03", env=at("2026-10-13"))
    # County B.
    c["c7"] = apply(b, GG001, "2026-03-02", "online", ID_B)
    step(b, c["c7"], "2026-03-02", "accept")
    conclude(b, c["c7"], "2026-03-20")                  # 14 working days, due 03-16: late
    run(b, "evaluation", "add", c["c7"], "--level", "4", "--via", "sms", env=at("2026-03-23"))
    c["c10"] = apply(b, GG001, "2026-11-02", materials=required(b, own(b, GG001))[:1])
    step(b, c["c10"], "2026-11-02", "request-supplement", "--material",
         required(b, own(b, GG001))[1])                         # 补正 before acceptance, unanswered
    c["c8"] = apply(b, GG001, "2026-11-16")
    step(b, c["c8"], "2026-11-16", "accept")            # due 11-30
    c["c9"] = apply(b, GG001, "2026-11-16")             # not accepted: acceptance clock
    return fed, c


def evaluation_id(home: Path, case_no: str) -> str:
    rows = json.loads(run(home, "evaluation", "list", "--json").output)
    return next(r["id"] for r in rows if r["case_no"] == case_no)


def close_loop(home: Path, case_no: str) -> None:
    """Record all three steps of a 差评's follow-up."""
    ident = evaluation_id(home, case_no)
    for day, stage in (("2026-03-16", "verify"), ("2026-03-20", "rectify"),
                       ("2026-03-24", "feedback")):
        run(home, "evaluation", "follow-up", ident, "--step", stage, "--text", "已处理",
            "--actor", "科长", env=at(day))
