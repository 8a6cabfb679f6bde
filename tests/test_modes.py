"""Handling modes through the real CLI on real node databases: several 容缺 materials,
补正 limited to the item with its one notice and counted rounds, the service object,
告知承诺 with its 核查 (and the licence a false commitment revokes), and 一件事一次办.

Every refusal is one line, exit 1, and leaves the database byte for byte the same.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from node_fixtures import ID_OK, USCC_OK, make_node, run, tongban

from node import workflow
from node.catalogue_file import CatalogueError, parse_matter, sample_catalogue
from node.home import Home
from node.store import NodeStore
from node.workdays import Calendar
from protos.tongban.v1 import record_pb2

CLOCK = "TONGBAN_CLOCK"
FREIGHT = "540102-XK-007"      # 道路普通货物运输经营许可: two materials allow 容缺
FREIGHT_OWED = ["驾驶人员从业资格证", "安全生产管理制度文本"]
FIRE = "540102-XK-009"         # 消防安全检查: two materials allow 告知承诺, 核查 in 20 days
FIRE_COMMITTED = ["场所平面布置图和消防设施平面图", "消防安全制度、灭火和应急疏散预案"]
RESIDENCE = "540102-GG-001"    # 居住证核发
RESTAURANT = "540102-YJS-001"  # 开办餐饮店“一件事”: 个体工商户 + 食品经营 + 消防
RELIEF = "540102-YJS-002"      # 困难群众救助“一件事”: 低保 + 医疗救助


def at(day: str, hour: str = "10:00") -> dict:
    return {CLOCK: f"{day}T{hour}"}


@pytest.fixture
def county(tmp_path):
    """A county set up before the dates the tests pin (the log's clock never runs back)."""
    return make_node(tmp_path, env=at("2026-10-30"))


def dump(home: Path) -> list[str]:
    db = sqlite3.connect(home / "node.db")
    try:
        return list(db.iterdump())
    finally:
        db.close()


def materials(home: Path, code: str) -> list[dict]:
    return json.loads(run(home, "matter", "show", code, "--json").output)["materials"]


def required(home: Path, code: str) -> list[str]:
    return [m["name"] for m in materials(home, code) if m.get("required")]


def flags(names, flag="--material") -> list[str]:
    return [arg for name in names for arg in (flag, name)]


def apply(home: Path, code: str, names: list[str], env: dict | None = None,
          applicant: str = ID_OK) -> str:
    out = run(home, "case", "apply", "--matter", code, "--applicant", applicant, "--name", "扎西",
              *flags(names), "--quiet", env=env).output
    return out.split()[0]


def show(home: Path, case_no: str, env: dict | None = None) -> dict:
    return json.loads(run(home, "case", "show", case_no, "--json", env=env).output)


def refused(home: Path, *args: str, env: dict | None = None) -> str:
    """Run a command that must be refused: one line, exit 1, nothing changed."""
    before = dump(home)
    result = run(home, *args, ok=False, env=env)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert dump(home) == before
    return lines[0]


# --- service object ----------------------------------------------------------------------


def test_service_object_refuses_a_credit_code_for_a_natural_person_item(county):
    line = refused(county, "case", "apply", "--matter", "540102-QR-002", "--applicant", USCC_OK,
                   "--name", "拉萨雪域商贸有限公司")
    assert line == ("error: matter 540102-QR-002 (出生登记) serves 自然人 only: "
                    f"{USCC_OK} is a credit code (法人 or 其他组织)")


def test_service_object_refuses_a_resident_id_for_an_organisation_item(county, tmp_path):
    item = json.loads(run(county, "matter", "show", "540102-XK-005", "--json").output)
    entry = {key: item[key] for key in (
        "base_code", "name", "type", "level", "body_name", "body_uscc", "legal_basis",
        "conditions", "legal_limit_days", "promised_limit_days", "steps", "handling_form",
        "online_depth", "scope")}
    entry.update(impl_code="540102-XK-099", service_object="法人,其他组织",
                 materials=[{"name": "申请表", "required": True, "deferrable": False}])
    (tmp_path / "org.json").write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    run(county, "matter", "import", str(tmp_path / "org.json"))
    line = refused(county, "case", "apply", "--matter", "540102-XK-099", "--applicant", ID_OK,
                   "--name", "扎西", "--material", "申请表")
    assert line == ("error: matter 540102-XK-099 (建设工程规划许可证核发) serves 法人,其他组织, "
                    f"not 自然人: {ID_OK} is a resident ID")
    case_no = apply(county, "540102-XK-099", ["申请表"], applicant=USCC_OK)
    assert show(county, case_no)["applicant_id"] == USCC_OK


# --- 容缺: several materials owed, each with its own due date -----------------------------


def test_two_owed_materials_each_with_its_due_date_shown_listed_and_settled(county):
    handed = [m for m in required(county, FREIGHT) if m not in FREIGHT_OWED]
    case_no = apply(county, FREIGHT, handed, at("2026-11-02"))
    run(county, "case", "accept", case_no, *flags(FREIGHT_OWED, "--missing"),
        "--due", "3", "--due", "10", env=at("2026-11-02"))
    data = show(county, case_no, at("2026-11-02"))
    # Monday 2 November + 3 working days = Thursday 5 November; + 10 = Monday 16 November.
    assert data["owed_due"] == {FREIGHT_OWED[0]: "2026-11-05", FREIGHT_OWED[1]: "2026-11-16"}
    text = run(county, "case", "show", case_no, env=at("2026-11-02")).output
    assert all(f"'{name}': '{due}'" in text for name, due in data["owed_due"].items())
    # Friday 6 November: the first is late, the case's own deadline is not.
    late = json.loads(run(county, "case", "list", "--overdue", "--json",
                          env=at("2026-11-06")).output)
    assert [(c["case_no"], c["late"]) for c in late] == [(case_no, [f"容缺 {FREIGHT_OWED[0]}"])]
    listing = run(county, "case", "list", "--overdue", env=at("2026-11-06")).output
    assert f"OVERDUE 容缺 {FREIGHT_OWED[0]}" in listing
    clocks = json.loads(run(county, "supervise", "list", "--json", env=at("2026-11-06")).output)
    (entry,) = clocks
    assert [(c["name"], c["ref"], c["due"], c["light"]) for c in entry["clocks"]
            if c["name"] == "容缺"] == [("容缺", FREIGHT_OWED[0], "2026-11-05", "red"),
                                       ("容缺", FREIGHT_OWED[1], "2026-11-16", "green")]
    run(county, "case", "review", case_no, env=at("2026-11-06"))
    line = refused(county, "case", "decide", case_no, "--approve", env=at("2026-11-06"))
    assert line == (f"error: case {case_no}: cannot approve while 容缺 materials are owed: "
                    f"{FREIGHT_OWED[0]} (due 2026-11-05), {FREIGHT_OWED[1]} (due 2026-11-16); "
                    "supply them first, or decide to deny with a reason")
    line = refused(county, "case", "supply", case_no, env=at("2026-11-06"))
    assert line == (f"error: case {case_no} owes {', '.join(FREIGHT_OWED)} (容缺); name the "
                    "materials supplied")
    run(county, "case", "supply", case_no, "--material", FREIGHT_OWED[0], env=at("2026-11-06"))
    assert show(county, case_no, at("2026-11-06"))["owed_due"] == {
        FREIGHT_OWED[1]: "2026-11-16"}
    assert json.loads(run(county, "case", "list", "--overdue", "--json",
                          env=at("2026-11-06")).output) == []
    refused(county, "case", "decide", case_no, "--approve", env=at("2026-11-06"))
    run(county, "case", "supply", case_no, "--material", FREIGHT_OWED[1], env=at("2026-11-09"))
    run(county, "case", "decide", case_no, "--approve", env=at("2026-11-09"))
    assert show(county, case_no, at("2026-11-09"))["decision"] == "approved"


@pytest.mark.parametrize(("extra", "message"), [
    (["--missing", FREIGHT_OWED[0], "--due", "3", "--due", "4", "--due", "5"],
     "error: 1 materials owed (--missing) with 3 due dates (--due): give one for all, or one "
     "for each"),
    (["--missing", "道路货物运输经营申请表", "--due", "3"],
     "error: material '道路货物运输经营申请表' of matter 540102-XK-007 does not allow 容缺受理; "
     "request a supplement (补正) instead"),
    (["--missing", "户口簿", "--due", "3"], "error: matter 540102-XK-007 has no material 户口簿"),
    (["--due", "3"], "error: --due given without a material owed (--missing)"),
    ([*flags(FREIGHT_OWED, "--missing"), "--due", "0"], "error: bad --due 0: want 1-3650"),
    ([*flags(FREIGHT_OWED, "--missing"), "--due", "-2"], "error: bad --due -2: want 1-3650"),
    ([*flags([FREIGHT_OWED[0], *FREIGHT_OWED], "--missing"), "--due", "3"], "is owed twice"),
])
def test_bad_owed_materials_are_refused_with_one_line(county, extra, message):
    handed = [m for m in required(county, FREIGHT) if m not in FREIGHT_OWED]
    case_no = apply(county, FREIGHT, handed)
    line = refused(county, "case", "accept", case_no, *extra)
    assert line.startswith(message) or message in line


def test_an_item_may_let_the_decision_wait_for_no_owed_material(county, tmp_path):
    item = json.loads(run(county, "matter", "show", FREIGHT, "--json").output)
    entry = {key: item[key] for key in (
        "base_code", "impl_code", "name", "type", "level", "body_name", "body_uscc",
        "legal_basis", "conditions", "service_object", "legal_limit_days",
        "promised_limit_days", "steps", "handling_form", "online_depth", "scope")}
    entry["materials"] = [{k: m.get(k, False) for k in ("name", "required", "deferrable")}
                          for m in item["materials"]]
    entry["decide_with_owed"] = True
    (tmp_path / "v2.json").write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    assert "changed" in run(county, "matter", "import", str(tmp_path / "v2.json")).output
    handed = [m for m in required(county, FREIGHT) if m != FREIGHT_OWED[0]]
    case_no = apply(county, FREIGHT, handed)
    run(county, "case", "accept", case_no, *flags(FREIGHT_OWED[:1], "--missing"), "--due", "5")
    for step in (["review"], ["decide", "--approve"], ["conclude"]):
        run(county, "case", *step[:1], case_no, *step[1:])
    data = show(county, case_no)
    assert (data["state"], data["decision"], list(data["owed_due"])) == (
        "concluded", "approved", FREIGHT_OWED[:1])
    assert "supply" in data["allowed_actions"]
    run(county, "case", "supply", case_no, "--material", FREIGHT_OWED[0])
    assert show(county, case_no)["owed"] == {}


# --- 补正: only the item's materials, one notice, partial supply, rounds ------------------


def test_supplement_is_limited_to_the_items_materials(county):
    names = required(county, RESIDENCE)
    case_no = apply(county, RESIDENCE, names[:1])
    line = refused(county, "case", "request-supplement", case_no, "--material", "户口簿",
                   "--material", names[1])
    assert line.startswith(f"error: matter {RESIDENCE} has no material 户口簿; its materials "
                           "are: ")


def test_one_notice_lists_everything_partial_supply_keeps_the_rest_rounds_counted(county):
    names = required(county, RESIDENCE)
    assert len(names) >= 3
    case_no = apply(county, RESIDENCE, names[:1], at("2026-11-02"))
    run(county, "case", "request-supplement", case_no, *flags(names[1:]),
        "--reason", "原件模糊", env=at("2026-11-02"))
    notice = run(county, "case", "notice", case_no, env=at("2026-11-03")).output
    assert notice.splitlines()[0] == "补正材料一次性告知书"
    assert f"编号: {case_no}（第 1 次补正）" in notice
    for number, name in enumerate(names[1:], 1):
        assert f"  {number}. {name}（必要）" in notice
    # 10 working days from Monday 2 November (the [supervision] default): 16 November.
    assert "请于 2026-11-16 前（10 个工作日内）补正。" in notice
    assert "说明: 原件模糊" in notice
    run(county, "case", "supply", case_no, "--material", names[1], env=at("2026-11-04"))
    data = show(county, case_no, at("2026-11-04"))
    assert (data["state"], data["requested"], data["supplement_rounds"]) == (
        "supplement", names[2:], 1)
    assert f"  1. {names[2]}（必要）" in run(county, "case", "notice", case_no,
                                          env=at("2026-11-04")).output
    # the 补正 clock still counts from the notice, not from the partial answer
    (entry,) = json.loads(run(county, "supervise", "list", "--json",
                              env=at("2026-11-04")).output)
    assert [(c["name"], c["due"]) for c in entry["clocks"]] == [("补正", "2026-11-16")]
    line = refused(county, "case", "supply", case_no, "--material", names[0],
                   env=at("2026-11-04"))
    assert line == (f"error: case {case_no}: supplied {names[0]} answers nothing requested "
                    f"(补正: {', '.join(names[2:])})")
    run(county, "case", "supply", case_no, *flags(names[2:]), env=at("2026-11-05"))
    assert show(county, case_no, at("2026-11-05"))["state"] == "applied"
    line = refused(county, "case", "notice", case_no, env=at("2026-11-05"))
    assert line == f"error: case {case_no} has no 补正 outstanding (state 申请); nothing to notify"
    run(county, "case", "accept", case_no, env=at("2026-11-05"))
    run(county, "case", "request-supplement", case_no, "--material", names[0],
        env=at("2026-11-06"))
    run(county, "case", "supply", case_no, "--material", names[0], env=at("2026-11-09"))
    assert show(county, case_no, at("2026-11-09"))["supplement_rounds"] == 2
    for step in (["review"], ["decide", "--approve"], ["conclude"]):
        run(county, "case", *step[:1], case_no, *step[1:], env=at("2026-11-09"))
    figures = json.loads(run(county, "stats", "--json", env=at("2026-11-09")).output)["total"]
    assert (figures["concluded"], figures["supplement_rounds"], figures["one_visit_share"]) \
        == (1, 2, 0.0)


# --- 告知承诺 and its 核查 -----------------------------------------------------------------


def _fire_case(home: Path, env: dict) -> str:
    handed = [m for m in required(home, FIRE) if m not in FIRE_COMMITTED]
    case_no = apply(home, FIRE, handed, env)
    run(home, "case", "accept", case_no, *flags(FIRE_COMMITTED, "--commit"), env=env)
    return case_no


def test_commitment_decides_without_the_materials_and_owes_a_check(county):
    env = at("2026-11-02")
    handed = [m for m in required(county, FIRE) if m not in FIRE_COMMITTED]
    case_no = apply(county, FIRE, handed, env)
    line = refused(county, "case", "accept", case_no, "--commit", handed[0], env=env)
    assert line == (f"error: material {handed[0]!r} of matter {FIRE} does not allow 告知承诺; "
                    "request a supplement (补正) instead")
    refused(county, "case", "accept", case_no, "--commit", FIRE_COMMITTED[0], env=env)  # lacks one
    run(county, "case", "accept", case_no, *flags(FIRE_COMMITTED, "--commit"), env=env)
    line = refused(county, "case", "check", case_no, "--kept", env=env)
    assert line == (f"error: case {case_no} is 受理 (accepted); 'check' is not allowed; "
                    "allowed: request-supplement, review, withdraw, suspend")
    for step in (["review"], ["decide", "--approve"], ["conclude"]):
        run(county, "case", *step[:1], case_no, *step[1:], env=env)
    data = show(county, case_no, env)
    # Decided Monday 2 November, 20 working days: Monday 30 November.
    assert (data["state"], data["committed"], data["check_due"], data["check_result"]) == (
        "concluded", FIRE_COMMITTED, "2026-11-30", None)
    assert data["allowed_actions"] == ["deliver", "evaluate", "check"]
    (entry,) = json.loads(run(county, "supervise", "list", "--json",
                              env=at("2026-12-01")).output)
    assert [(c["name"], c["due"], c["light"]) for c in entry["clocks"]] == [
        ("核查", "2026-11-30", "red")]
    late = json.loads(run(county, "case", "list", "--overdue", "--json",
                          env=at("2026-12-01")).output)
    assert [(c["case_no"], c["late"]) for c in late] == [(case_no, ["核查"])]
    run(county, "case", "check", case_no, "--kept", env=at("2026-12-01"))
    data = show(county, case_no, at("2026-12-01"))
    assert (data["state"], data["decision"], data["check_result"]) == (
        "concluded", "approved", "kept")
    assert json.loads(run(county, "supervise", "list", "--json",
                          env=at("2026-12-01")).output) == []
    line = refused(county, "case", "check", case_no, "--false", "--reason", "x",
                   env=at("2026-12-01"))
    assert "the 核查 was recorded already (kept)" in line


def test_a_false_commitment_revokes_the_decision(county):
    case_no = _fire_case(county, at("2026-11-02"))
    for step in (["review"], ["decide", "--approve"]):
        run(county, "case", *step[:1], case_no, *step[1:], env=at("2026-11-02"))
    line = refused(county, "case", "check", case_no, "--false", env=at("2026-11-03"))
    assert line == (f"error: case {case_no}: a commitment found false needs a reason (what the "
                    "核查 found)")
    run(county, "case", "check", case_no, "--false", "--reason", "疏散通道被占用，与承诺不符",
        env=at("2026-11-03"))
    data = show(county, case_no, at("2026-11-03"))
    assert (data["state"], data["state_label"], data["decision"], data["check_result"],
            data["reason"]) == ("revoked", "撤销", "revoked", "false", "疏散通道被占用，与承诺不符")
    assert data["allowed_actions"] == []


# --- 一件事一次办 --------------------------------------------------------------------------


def test_theme_application_spawns_parallel_member_cases_and_concludes_with_them(county):
    env = at("2026-11-02")
    names = [m["name"] for m in materials(county, RESTAURANT)
             if m.get("required") and m["name"] not in FIRE_COMMITTED]
    out = json.loads(run(county, "case", "apply", "--matter", RESTAURANT, "--applicant", ID_OK,
                         "--name", "扎西", *flags(names), "--json", env=env).output)
    theme = out["case_no"]
    members = {m["matter_code"]: m["case_no"] for m in out["members"]}
    assert list(members) == ["540102-XK-001", "540102-XK-006", "540102-XK-009"]
    for code, number in members.items():
        member = show(county, number, env)
        own = {m["name"] for m in materials(county, code)}
        assert member["theme_case"] == theme and member["limit_days"] == 3
        assert member["materials"] == [n for n in names if n in own]
    data = show(county, theme, env)
    assert (data["theme"], data["state"], data["allowed_actions"]) == (True, "applied", [])
    line = refused(county, "case", "accept", theme, env=env)
    assert line.endswith("(a 一件事 case moves with its member cases: act on those); "
                         "allowed: none")
    # Each body handles its own member; the 消防 member on 告知承诺.
    run(county, "case", "accept", members["540102-XK-006"], env=env)
    assert show(county, theme, env)["state"] == "accepted"
    run(county, "case", "accept", members["540102-XK-009"], *flags(FIRE_COMMITTED, "--commit"),
        env=env)
    run(county, "case", "accept", members["540102-XK-001"], env=env)
    for number in members.values():
        for step in (["review"], ["decide", "--approve"]):
            run(county, "case", *step[:1], number, *step[1:], env=at("2026-11-03"))
    for number in list(members.values())[:2]:
        run(county, "case", "conclude", number, env=at("2026-11-03"))
    data = show(county, theme, at("2026-11-03"))
    assert data["state"] == "accepted"
    assert [(m["case_no"], m["state"]) for m in data["members"]] == [
        (members["540102-XK-001"], "concluded"), (members["540102-XK-006"], "concluded"),
        (members["540102-XK-009"], "decided")]
    text = run(county, "case", "show", theme, env=at("2026-11-03")).output
    assert f"member               {members['540102-XK-009']} 540102-XK-009 决定 (decided)" in text
    run(county, "case", "conclude", members["540102-XK-009"], env=at("2026-11-04"))
    data = show(county, theme, at("2026-11-04"))
    assert (data["state"], data["decision"], data["reason"]) == ("concluded", "approved",
                                                                 "3/3 准予")
    figures = json.loads(run(county, "stats", "--json", env=at("2026-11-04")).output)["total"]
    assert (figures["applications"], figures["concluded"]) == (3, 3)  # the theme not itself


def test_theme_refuses_materials_of_no_member_and_checks_every_member(county):
    line = refused(county, "case", "apply", "--matter", RELIEF, "--applicant", USCC_OK,
                   "--name", "某公司")
    assert "serves 自然人 only" in line
    line = refused(county, "case", "apply", "--matter", RELIEF, "--applicant", ID_OK,
                   "--name", "扎西", "--material", "营业执照或其他主体资格证明文件")
    assert line.startswith(f"error: matter {RELIEF} has no material 营业执照或其他主体资格证明文件")


@pytest.mark.parametrize(("change", "message"), [
    ({"theme_members": ["540102-GF-001", "540102-ZZ-404"]},
     "theme_members unknown matter 540102-ZZ-404"),
    ({"theme_members": ["540102-GF-001", "540102-YJS-001"]},
     "member 540102-YJS-001 is itself a theme"),
    ({"theme_members": ["540102-GF-001"]}, "must name two or more member matters"),
    ({"promised_limit_days": 20, "legal_limit_days": 30,
      "theme_members": ["540102-GF-001", "540102-XK-001"]},
     "materials lack 个体工商户登记申请书"),
    ({"extra": True}, "materials 健康证明 belong to no member"),
])
def test_bad_themes_are_refused_at_publication(county, tmp_path, change, message):
    item = json.loads(run(county, "matter", "show", RELIEF, "--json").output)
    entry = {key: item[key] for key in (
        "base_code", "impl_code", "name", "type", "level", "body_name", "body_uscc",
        "legal_basis", "conditions", "service_object", "legal_limit_days",
        "promised_limit_days", "steps", "handling_form", "online_depth", "scope",
        "theme_members")}
    entry["materials"] = [{k: m.get(k, False) for k in ("name", "required", "deferrable")}
                          for m in item["materials"]]
    if change.pop("extra", False):
        entry["materials"].append({"name": "健康证明", "required": False, "deferrable": False})
    entry.update(change)
    path = tmp_path / "theme.json"
    path.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    before = dump(county)
    result = run(county, "matter", "import", str(path), ok=False)
    assert result.exit_code in (1, 2) and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert dump(county) == before


def test_theme_and_modes_rebuild_to_identical_tables(county):
    test_theme_application_spawns_parallel_member_cases_and_concludes_with_them(county)
    store = NodeStore.open(Home.locate(county))
    try:
        db = store.db
        before = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                  for t in ("cases", "theme_members")}
        store.rebuild()
        after = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                 for t in ("cases", "theme_members")}
    finally:
        store.close()
    assert after == before and len(before["theme_members"]) == 3


def test_false_commitment_revokes_the_licence_issued_from_it(fed_copy, tmp_path):
    county = fed_copy.nodes["540102"].home
    item = json.loads(tongban("matter", "show", FIRE, "--json", home=county).stdout)
    entry = {key: item[key] for key in (
        "base_code", "name", "type", "level", "body_name", "body_uscc", "legal_basis",
        "conditions", "service_object", "legal_limit_days", "promised_limit_days", "steps",
        "handling_form", "online_depth", "scope", "commitment_check_days")}
    entry.update(impl_code="540102-XK-098",
                 result={"licence_type": "SC0001", "valid_years": 0},
                 materials=[{k: m.get(k, False) for k in ("name", "required", "deferrable",
                                                          "commitment")}
                            for m in item["materials"]])
    (tmp_path / "licensed.json").write_text(json.dumps(entry, ensure_ascii=False),
                                            encoding="utf-8")
    tongban("matter", "import", str(tmp_path / "licensed.json"), home=county)
    tongban("seal", "create", "--body-uscc", item["body_uscc"], "--name", item["body_name"],
            home=county)
    handed = [m["name"] for m in item["materials"] if not m.get("commitment")]
    case_no = tongban("case", "apply", "--matter", "540102-XK-098", "--applicant", ID_OK,
                      "--name", "扎西", *flags(handed), "--quiet", home=county).stdout.strip()
    tongban("case", "accept", case_no, *flags(FIRE_COMMITTED, "--commit"), home=county)
    for step in (["review"], ["decide", "--approve"], ["conclude"]):
        tongban("case", *step[:1], case_no, *step[1:], home=county)
    licence = tongban("licence", "issue", case_no, home=county).stdout.split()[0]
    tongban("case", "check", case_no, "--false", "--reason", "消防设施未按承诺配置", home=county)
    shown = json.loads(tongban("licence", "show", licence, "--json", home=county).stdout)
    assert shown["revoked"]["reason"] == f"告知承诺不实（{case_no} 核查）: 消防设施未按承诺配置"
    assert json.loads(tongban("case", "show", case_no, "--json", home=county).stdout)[
        "state"] == "revoked"
    # the case event and the revocation are one write: both records, adjacent in the log
    history = json.loads(tongban("case", "show", case_no, "--history", "--json",
                                 home=county).stdout)["history"]
    store = NodeStore.open(Home.locate(county))
    try:
        (seq,) = store.db.execute("SELECT seq FROM licence_revocations WHERE licence_id = ?",
                                  (licence,)).fetchone()
    finally:
        store.close()
    assert seq == history[-1]["seq"] + 1


# --- the catalogue elements of the modes, and the theme's state -------------------------


def _fire_item() -> dict:
    return next(i for i in sample_catalogue("540102") if i["impl_code"] == FIRE)


@pytest.mark.parametrize(("change", "message"), [
    ({"commitment_check_days": 0}, "commitment_check_days is missing or 0, but "
     "'场所平面布置图和消防设施平面图' allows 告知承诺"),
    ({"materials": [{"name": "申请表", "required": True, "deferrable": False}]},
     "commitment_check_days is given but no material allows 告知承诺"),
    ({"materials": [{"name": "图", "required": False, "deferrable": False, "commitment": True}]},
     "materials[1] '图' allows 告知承诺 but is not required"),
    ({"decide_with_owed": True}, "decide_with_owed is true but no material allows 容缺"),
    ({"decide_with_owed": "yes"}, "decide_with_owed must be true or false"),
    ({"theme_members": ["540102-XK-001", "540102-XK-001"]}, "theme_members names a member twice"),
    ({"theme_members": ["540102-XK-001", "bad code"]},
     "theme_members 'bad code' is not an implementation code"),
])
def test_mode_elements_are_checked_with_the_item(change, message):
    item = _fire_item() | change
    with pytest.raises(CatalogueError) as refused_item:
        parse_matter(item)
    assert str(refused_item.value).startswith(f"matter {FIRE}: {message}")


def test_theme_progress_follows_its_members():
    def opened(number: str, theme: bool = False) -> workflow.CaseState:
        return workflow.apply_event(None, record_pb2.CaseEvent(
            case_no=number, action="apply", actor="a", matter_code="540102-XK-001",
            matter_version=1, applicant_id=ID_OK, applicant_name="扎西", channel="window",
            theme=theme, theme_case="" if theme else "540102-2026-0000001"), 1000,
            limit_days=3, calendar=Calendar())

    theme = opened("540102-2026-0000001", theme=True)
    one, two = opened("540102-2026-0000002"), opened("540102-2026-0000003")
    assert workflow.theme_progress(theme, [one, two]).state is workflow.State.APPLIED
    one = workflow.apply_event(one, record_pb2.CaseEvent(case_no=one.case_no, action="accept"),
                               2000, limit_days=3, calendar=Calendar())
    progressed = workflow.theme_progress(theme, [one, two])
    assert (progressed.state, progressed.accepted_ms, progressed.updated_ms) == (
        workflow.State.ACCEPTED, 2000, 2000)
    two = workflow.apply_event(two, record_pb2.CaseEvent(
        case_no=two.case_no, action="reject", reason="不符合条件"), 3000, limit_days=3,
        calendar=Calendar())
    assert workflow.theme_progress(theme, [one, two]).state is workflow.State.ACCEPTED
    one.state, one.decision = workflow.State.CONCLUDED, workflow.APPROVED
    done = workflow.theme_progress(theme, [one, two])
    assert (done.state, done.decision, done.reason) == (workflow.State.CONCLUDED, None,
                                                        "1/2 准予")


def test_the_region_derives_the_same_modes_from_the_county_log(fed_copy):
    """Over the network: the region projects the county's theme, 容缺 and 告知承诺 cases
    from the replicated log to exactly the county's rows."""
    county, region = fed_copy.nodes["540102"].home, fed_copy.nodes["540000"].home
    names = [m for m in required(county, RESTAURANT) if m not in FIRE_COMMITTED]
    out = json.loads(tongban("case", "apply", "--matter", RESTAURANT, "--applicant", ID_OK,
                             "--name", "扎西", *flags(names), "--json", home=county).stdout)
    numbers = [out["case_no"], *(m["case_no"] for m in out["members"])]
    fire_member = out["members"][2]["case_no"]
    tongban("case", "accept", fire_member, *flags(FIRE_COMMITTED, "--commit"), home=county)
    for step in (["review"], ["decide", "--approve"], ["conclude"]):
        tongban("case", *step[:1], fire_member, *step[1:], home=county)
    handed = [m for m in required(county, FREIGHT) if m not in FREIGHT_OWED]
    owing = tongban("case", "apply", "--matter", FREIGHT, "--applicant", ID_OK, "--name", "扎西",
                    *flags(handed), "--quiet", home=county).stdout.strip()
    tongban("case", "accept", owing, *flags(FREIGHT_OWED, "--missing"), "--due", "2", "--due",
            "4", home=county)
    numbers.append(owing)
    fed_copy.start("540000")
    fed_copy.sync("540102")

    def shown(home: Path, number: str) -> dict:
        data = json.loads(tongban("case", "show", number, "--json", home=home).stdout)
        data.pop("remaining_workdays")   # today at each node: the same, but not the point
        return data

    for number in numbers:
        assert shown(region, number) == shown(county, number)
    theme = shown(region, numbers[0])
    assert (theme["state"], [m["state"] for m in theme["members"]]) == (
        "accepted", ["applied", "applied", "concluded"])
    assert shown(region, fire_member)["check_due"] is not None
    assert len(shown(region, owing)["owed_due"]) == 2
