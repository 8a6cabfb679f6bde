"""`--json` on every command that reports: each one's JSON parsed and checked against
what the command did (the log, the files, the other commands' views).

Real homes and SQLite files, the CLI in this process (node_fixtures.tongban).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from node_fixtures import tongban
from oversight_fixtures import COUNTY_B, REGION, at

from node.home import Home
from ops.fedcheck import copy_federation
from ops.localfed import log_records
from pki import certs

HOLDER = "540102199001010011"
BODY = "11540102015712342L"        # 拉萨市公安局城关分局 in the sample catalogue
MATTER = "540102-QR-001"           # produces a 居民户口簿 (GA0001)
TODAY = at("2026-11-18")           # the oversight federation's "today"


def as_json(*args: str, home: Path | None = None, env: dict | None = None):
    return json.loads(tongban(*args, "--json", home=home, env=env).stdout)


def test_enrolment_commands(tmp_path):
    national, county = tmp_path / "000000", tmp_path / "540102"
    made = as_json("init", "--division", "000000", "--name", "国家节点", home=national)
    assert (made["division"], made["home"]) == ("000000", str(national))
    root = as_json("pki", "init-root", home=national)
    assert root["serial"] == certs.serial_hex(Home(national).cert_chain().cert)
    offline = as_json("pki", "init-root", "--out", str(tmp_path / "ca"))
    assert Path(offline["certificate"]).exists() and Path(offline["key_file"]).exists()

    as_json("init", "--division", "540102", "--name", "城关区", home=county)
    request = as_json("pki", "csr", home=county)
    assert request == {"csr": str(county / "node.csr")}
    before = len(log_records(national, "000000"))
    issued = as_json("pki", "issue", request["csr"], "--out", str(tmp_path / "c.pem"),
                     home=national)
    assert issued["division"] == "540102" and issued["recorded"] is True
    assert not issued["cut_short"]
    # the national node records what it issued: its checkpoints verify against the root
    assert len(log_records(national, "000000")) == before + 1
    installed = as_json("pki", "import", str(tmp_path / "c.pem"), home=county)
    assert installed["serial"] == issued["serial"] == certs.serial_hex(
        Home(county).cert_chain().cert)
    assert as_json("config", "check", home=county)["valid"] is True

    exported = as_json("pki", "export-checkpoint", "--out", str(tmp_path / "cp"), home=national)
    assert exported["size"] == before + 1 and (tmp_path / "cp" / "checkpoint.txt").exists()
    revoked = as_json("pki", "revoke", issued["serial"], "--reason", "superseded",
                      home=national)
    assert revoked == {"serial": issued["serial"].lstrip("0") or "0", "reason": "superseded",
                       "origin": "000000"}
    rotation = as_json("pki", "rotate", home=county)
    assert Path(rotation["kept"] + ".key").exists() and rotation["csr"] == request["csr"]


@pytest.fixture
def county(tmp_path) -> Path:
    home = tmp_path / "540102"
    tongban("init", "--division", "540102", "--name", "城关区", home=home)
    return home


def test_catalogue_calendar_notice_and_rebuild(county, tmp_path):
    published = as_json("matter", "import", "--sample", home=county)
    listed = json.loads(tongban("matter", "list", "--json", home=county).stdout)
    assert {(p["code"], p["version"]) for p in published} == {
        (m["code"], m["version"]) for m in listed}
    assert {p["status"] for p in published} == {"new"}
    again = as_json("matter", "import", "--sample", home=county)
    assert {p["status"] for p in again} == {"unchanged"}
    retired = as_json("matter", "retire", MATTER, "--reason", "事项取消", home=county)
    assert (retired["code"], retired["version"]) == (MATTER, next(
        m["version"] for m in listed if m["code"] == MATTER))

    region = tmp_path / "region"  # calendars come from a province or prefecture, not a county
    tongban("init", "--division", "540000", "--name", "西藏自治区", home=region)
    calendar = as_json("calendar", "publish", "--year", "2031", "--holiday", "2031-02-03",
                       "--workday", "2031-02-08", home=region)
    assert calendar == {"origin": "540000", "year": 2031, "holidays": ["2031-02-03"],
                        "working_days": ["2031-02-08"]}
    sent = as_json("notice", "send", "--to", "540121", "--title", "t", "--text", "x",
                   home=county)
    records = log_records(county, "540102")
    assert sent == {"origin": "540102", "seq": len(records) - 1, "recipient": "540121"}
    assert as_json("db", "rebuild", home=county) == {"records": len(records)}


def test_seal_licence_evaluation_and_audit_proof(fed_copy, tmp_path):
    county = fed_copy.nodes["540102"].home        # enrolled, sample catalogue imported
    materials = json.loads(tongban("matter", "show", MATTER, "--json", home=county).stdout)[
        "materials"]
    case_no = tongban("case", "apply", "--matter", MATTER, "--applicant", HOLDER, "--name",
                      "扎西", *[a for m in materials if m.get("required")
                              for a in ("--material", m["name"])], "--quiet",
                      home=county).stdout.strip()
    for action in (["accept"], ["review"], ["decide", "--approve"], ["conclude"]):
        tongban("case", action[0], case_no, *action[1:], home=county)
    seal = as_json("seal", "create", "--body-uscc", BODY, "--name", "拉萨市公安局城关分局",
                   home=county)
    assert (seal["uscc"], seal["revoked"]) == (BODY, False)
    claims = as_json("licence", "issue", case_no, home=county)
    shown = json.loads(tongban("licence", "show", claims["licence_id"], "--json",
                               home=county).stdout)
    assert (claims["case_no"], claims["holder_id"], claims["type_code"]) == (
        case_no, HOLDER, "GA0001")
    assert shown["licence_id"] == claims["licence_id"]
    assert claims["seq"] == len(log_records(county, "540102")) - 1

    evaluated = as_json("evaluation", "add", case_no, "--level", "1", "--via", "online",
                        home=county)
    assert (evaluated["case_no"], evaluated["level"]) == (case_no, 1)
    followed = as_json("evaluation", "follow-up", evaluated["evaluation"], "--step", "verify",
                       "--text", "电话回访", home=county)
    assert followed["evaluation"] == evaluated["evaluation"]
    assert followed["follow_up"] == f"540102#{len(log_records(county, '540102')) - 1}"

    proof = as_json("audit", "prove", "--case", case_no, "--out", str(tmp_path / "p.json"),
                    home=county)
    written = json.loads((tmp_path / "p.json").read_text())
    assert proof["records"] == sum(len(log["records"]) for log in written["logs"]) > 0
    revoked = as_json("licence", "revoke", claims["licence_id"], "--reason", "户口已迁出",
                      home=county)
    assert revoked == {"licence_id": claims["licence_id"], "reason": "户口已迁出"}
    assert json.loads(tongban("licence", "show", claims["licence_id"], "--json",
                              home=county).stdout)["revoked"]
    seal_revoked = as_json("seal", "revoke", "--body-uscc", BODY, "--reason", "superseded",
                           home=county)
    assert seal_revoked["revoked"] and seal_revoked["serial_hex"] == seal["serial_hex"]
    report = as_json("report", "--out", str(tmp_path / "r.html"), home=county)
    assert report["applications"] == 1 and (tmp_path / "r.html").exists()


def test_relay_at_the_national_node(tmp_path):
    home = tmp_path / "000000"
    tongban("init", "--division", "000000", "--name", "国家节点", home=home)
    tongban("pki", "init-root", home=home)
    assert as_json("licence", "relay", home=home) == {"records": 0, "revocations": 0,
                                                       "certificates": 0}


def test_supervise_notice_and_reply(oversight_template, tmp_path):
    fed, cases = oversight_template
    fed = copy_federation(fed, tmp_path / "fed")
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY_B].home
    up, down = tmp_path / "up.tbb", tmp_path / "down.tbb"

    def carry() -> None:
        tongban("bundle", "export", "--for-parent", "--out", str(up), home=county)
        tongban("bundle", "import", str(up), "--reply", str(down), home=region)
        tongban("bundle", "import", str(down), home=county)

    carry()
    sent = as_json("supervise", "notice", cases["c9"], "--text", "为何未受理", "--due", "1",
                   home=region, env=TODAY)
    assert sent["notice"] == f"{REGION}#{len(log_records(region, REGION)) - 1}"
    carry()
    answered = as_json("supervise", "reply", sent["notice"], "--text", "今日受理",
                       home=county, env=TODAY)
    assert answered == {"reply": f"{COUNTY_B}#{len(log_records(county, COUNTY_B)) - 1}",
                        "notice": sent["notice"]}
