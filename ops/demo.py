"""`make demo`: a local five-node federation on 127.0.0.1, end to end.

National (000000) → Tibet (540000) → Lhasa (540100) → 城关区 (540102) and 林周县
(540121). Every node is enrolled with the `tongban pki` commands and served by a
real `tongban serve` with mutual TLS. Each county registers its staff (a clerk,
a reviewer, an approver) and loads the sample catalogue in its own namespace;
staff take cases through every path, each step by the role it needs; the
region publishes a catalogue item, and is refused when it tries to withdraw a
county's case; one round of `tongban sync --once`
up and down the tree; then the demo shows that the national node holds every
county record byte for byte and both counties received the region's item.
A licence (电子证照) issued at 城关区 is verified at 林周县 from its QR payload,
from its file with only the root, cited in a 免证办 application there,
revoked at 城关区, and seen revoked at 林周县 after one sync round (the
national serve relays the revocation by itself). The region publishes the base
catalogue (基本目录); 城关区 proposes renaming one base item (会签), the region
approves, and the new version arrives back at 城关区, whose item then differs
(四级四同, `matter check`) until it publishes the new name. Then the handling
modes at 城关区: a 容缺 case owing two materials, a 补正 notice answered in part,
a 告知承诺 case and its 核查, and one 一件事 application with its member cases,
whose theme case the region sees concluded after a sync. Last, the Xinjiang branch
(650000 → 650100 → 天山区 650102) takes part in one 异地代收代办 case: applied at
the 城关区 window for 天山区 (a matter on the national 跨省通办 list), handed over
through the national node, accepted and decided in Urumqi, and delivered (送达)
at the 城关区 window; the demo prints the case as both nodes see it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tomli_w

from node.authority import ROLE_FOR_ACTION
from node.catalogue_file import sample_catalogue
from ops.localfed import ACTOR_FOR_ROLE, STAFF, Federation, log_records, tongban

ROOT = Path("demo-federation")
COUNTIES = ("540102", "540121")
XINJIANG = (("650000", "000000"), ("650100", "650000"), ("650102", "650100"))
HANDLER = "650102"
CROSS_LIST = Path(__file__).parent / "data" / "crossregion_list.toml"
APPLICANTS = [("540102199001010011", "扎西"), ("540121198507150024", "卓玛"),
              ("91540100MA6T000006", "拉萨雪域商贸有限公司")]
# Early cases are dated into November so that deadlines are near or past.
EARLY = {"TONGBAN_CLOCK": "2026-11-02T10:00"}
LATER = {"TONGBAN_CLOCK": "2026-11-16T10:00"}


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def case(home: Path, *args: str, env: dict | None = None) -> str:
    """One case command, by the staff member whose role the action needs."""
    actor = ACTOR_FOR_ROLE[ROLE_FOR_ACTION[args[0]]]
    out = tongban("case", *args, "--actor", actor, home=home, env=env).stdout.strip()
    print(f"   tongban case {' '.join(args[:2])} … → {out}")
    return out.split()[0]


def materials(home: Path, code: str) -> list[dict]:
    return json.loads(tongban("matter", "show", code, "--json", home=home).stdout)["materials"]


def flags(names: list[str], flag: str = "--material") -> list[str]:
    return [arg for name in names for arg in (flag, name)]


def county_work(home: Path, early: dict, later: dict) -> None:
    """Cases through every path: normal, 容缺, 补正, 不予受理, 特别程序, evaluation."""
    idno, name = APPLICANTS[0]
    residence = "540102-GG-001"
    required = [m["name"] for m in materials(home, residence) if m.get("required")]
    full = case(home, "apply", "--matter", residence, "--applicant", idno, "--name", name,
                *flags(required), env=early)
    for step in (["accept"], ["review"], ["decide", "--approve"], ["conclude"],
                 ["deliver", "--method", "窗口领取"]):
        case(home, step[0], full, *step[1:], env=later)
    evaluate(home, full, "非常满意", "mobile", "办事快", later)

    migration = materials(home, "540102-QR-001")
    owed = next(m["name"] for m in migration if m.get("required") and m.get("deferrable"))
    handed = [m["name"] for m in migration if m.get("required") and m["name"] != owed]
    deferred = case(home, "apply", "--matter", "540102-QR-001", "--applicant", idno,
                    "--name", name, *flags(handed), env=early)
    case(home, "accept", deferred, "--missing", owed, "--due", "5", env=early)

    supplement = case(home, "apply", "--matter", residence, "--applicant", APPLICANTS[1][0],
                      "--name", APPLICANTS[1][1], *flags(required[:1]), env=early)
    case(home, "request-supplement", supplement, *flags(required[1:]), env=early)

    rejected = case(home, "apply", "--matter", "540102-XK-007", "--applicant", APPLICANTS[2][0],
                    "--name", APPLICANTS[2][1], env=later)
    case(home, "reject", rejected, "--reason", "经营场所不在本辖区", env=later)

    allowance = [m["name"] for m in materials(home, "540102-GF-001") if m.get("required")]
    special = case(home, "apply", "--matter", "540102-GF-001", "--applicant", idno,
                   "--name", name, *flags(allowance[:1]), env=early)
    case(home, "request-supplement", special, *flags(allowance[1:]), env=early)
    case(home, "supply", special, *flags(allowance[1:]), env=early)
    case(home, "accept", special, env=early)
    case(home, "suspend", special, "--reason", "入户调查核实家庭收入", env=later)

    quick = case(home, "apply", "--matter", "540102-GG-004", "--applicant", APPLICANTS[1][0],
                 "--name", APPLICANTS[1][1],
                 *flags([m["name"] for m in materials(home, "540102-GG-004")
                         if m.get("required")]), "--channel", "online", env=early)
    for step in (["accept"], ["review"], ["decide", "--approve"], ["conclude"]):
        case(home, step[0], quick, *step[1:], env=later)
    evaluate(home, quick, "不满意", "paper-card", "等待时间长", later, "--entered-by", "窗口03")


def evaluate(home: Path, case_no: str, level: str, via: str, comment: str, env: dict,
             *extra: str) -> None:
    """好差评 as the applicant gives it (a channel, or a paper card typed in by staff)."""
    out = tongban("evaluation", "add", case_no, "--level", level, "--via", via,
                  "--comment", comment, *extra, home=home, env=env).stdout.strip()
    print(f"   tongban evaluation add {case_no} --level {level} … → {out}")


def main() -> int:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir()
    fed = Federation(ROOT.absolute())
    try:
        say("enrolling eight nodes with tongban init / pki csr / pki issue / pki import")
        fed.add("000000")
        fed.add("540000", "000000")
        fed.add("540100", "540000")
        for county in COUNTIES:
            fed.add(county, "540100")
        for division, parent in XINJIANG:
            fed.add(division, parent)
        for node in fed.nodes.values():
            print(f"   {node.division} at {node.address}, home {node.home}")

        say("counties register their staff and load the sample catalogue (own codes); "
            "the region publishes an item downward")
        sample = Path(__file__).parent / "data" / "region_item.toml"
        for county in COUNTIES:
            for staff_id, name, roles in STAFF:
                print("   " + tongban("staff", "add", "--id", staff_id, "--name", name,
                                      *[a for role in roles for a in ("--role", role)],
                                      home=fed.nodes[county].home, env=EARLY).stdout.strip())
            tongban("matter", "import", "--sample", home=fed.nodes[county].home, env=EARLY)
        print(tongban("matter", "import", str(sample), home=fed.nodes["540000"].home).stdout)
        prepare_handler(fed)

        say("county window staff handle cases (offline: no link needed)")
        county_work(fed.nodes["540102"].home, EARLY, LATER)
        idno, name = APPLICANTS[1]
        other = fed.nodes["540121"].home
        birth = [m["name"] for m in materials(other, "540121-QR-002") if m.get("required")]
        c = case(other, "apply", "--matter", "540121-QR-002", "--applicant", idno,
                 "--name", name, *flags(birth), env=EARLY)
        case(other, "accept", c, env=EARLY)

        say("城关区 seals a body and issues a licence (电子证照) for a concluded case")
        licence = issue_licence(fed.nodes["540102"].home)

        say("case list with deadlines at 城关区 (working days, official calendar)")
        print(tongban("case", "list", home=fed.nodes["540102"].home).stdout)

        say("starting tongban serve on every node (mutual TLS on 127.0.0.1)")
        for division in fed.nodes:
            fed.start(division)
        say("sync: leaves up to the national node, then back down")
        for node in sorted((n for n in fed.nodes.values() if n.parent),
                           key=lambda n: -len(n.division.rstrip("0"))):
            print("   " + fed.sync(node.division).stdout.strip())
        for node in sorted((n for n in fed.nodes.values() if n.parent),
                           key=lambda n: len(n.division.rstrip("0"))):
            print("   " + fed.sync(node.division).stdout.strip())

        say("national node: status of its subtree")
        print(tongban("status", home=fed.nodes["000000"].home).stdout)
        say("城关区: link status")
        print(tongban("status", home=fed.nodes["540102"].home).stdout)

        say("authority: the region may not withdraw a county's case (refused, nothing written)")
        refused = tongban("case", "withdraw", c, "--reason", "上级撤回",
                          home=fed.nodes["540000"].home, check=False)
        print(f"   tongban case withdraw {c} (at 540000) → exit {refused.returncode}: "
              f"{refused.stderr.strip()}")

        say("region: 督办 about an overdue case, the county's reply; then the offline report")
        supervise(fed)

        say("national node: statistics of the whole federation")
        print(tongban("stats", "--subtree", "--by", "county", home=fed.nodes["000000"].home,
                      env=LATER).stdout)

        say("licence: QR at 林周县, file with only the root, 免证办, revocation arriving")
        licence_ok = licence_round(fed, licence)

        say("会签: 城关区 proposes renaming a base item, the region approves, the new "
            "version arrives")
        catalogue_ok = catalogue_change(fed)

        say("handling modes at 城关区: 容缺 ×2, 补正 一次告知, 告知承诺 and 核查, 一件事一次办")
        modes_ok = handling_modes(fed)

        say("异地代收代办: applied at 城关区 for 天山区 (Urumqi), handled there, 送达 at 城关区")
        cross_ok = cross_region(fed)

        say("sync by USB stick: 林周县's bundle, encrypted to 拉萨市, signed by 林周县")
        bundle_ok = bundle_round(fed)

        say("checks")
        ok = (licence_ok and catalogue_ok and modes_ok and cross_ok and bundle_ok
              and check_national_holds_counties(fed)
              and check_counties_got_region_item(fed) and refused.returncode == 1
              and check_audit(fed))
        print("\nDEMO OK" if ok else "\nDEMO FAILED")
        print(f"(node homes are kept in {ROOT}/ for a look around: "
              f"tongban case list --home {ROOT}/540102)")
        return 0 if ok else 1
    finally:
        fed.stop_all()


LICENCE_MATTER = "540102-QR-001"          # 户口迁入, its result a 居民户口簿 (GA0001)
CITING_MATTER = "540121-GF-002"  # 林周县's 高龄津贴: one material satisfied by a 居民户口簿


def issue_licence(county: Path) -> str:
    """A seal for the implementing body, one case through 办结, and its licence."""
    body = json.loads(tongban("matter", "show", LICENCE_MATTER, "--json", home=county).stdout)
    print("   " + tongban("seal", "create", "--body-uscc", body["body_uscc"], "--name",
                          body["body_name"], home=county).stdout.strip())
    idno, name = APPLICANTS[0]
    required = [m["name"] for m in materials(county, LICENCE_MATTER) if m.get("required")]
    number = case(county, "apply", "--matter", LICENCE_MATTER, "--applicant", idno,
                  "--name", name, *flags(required))
    for step in (["accept"], ["review"], ["decide", "--approve"], ["conclude"]):
        case(county, step[0], number, *step[1:])
    issued = tongban("licence", "issue", number, home=county).stdout.strip()
    print(f"   tongban licence issue {number} → {issued}")
    return issued.split()[0]


def licence_round(fed: Federation, licence: str) -> bool:
    """Verify elsewhere, cite it, revoke it, and watch the revocation arrive at 540121."""
    county, other = fed.nodes["540102"].home, fed.nodes["540121"].home
    fresh = Path(tempfile.mkdtemp(prefix="tongban-verifier-"))
    shutil.copy(county / "root.crt", fresh / "root.pem")
    exported = tongban("licence", "export", licence, "--qr-text", "--out",
                       str(fresh / "licence.json"), home=county).stdout
    qr = next(line for line in exported.splitlines() if line.startswith("TB1:"))
    print(f"   QR payload: {len(qr)} characters, {qr[:24]}…")
    seen = tongban("licence", "verify", "--qr-text", qr, "--json", home=other, check=False)
    report = json.loads(seen.stdout or "{}")
    print(f"   540121 verifies the QR: exit {seen.returncode}, {report.get('status')}, "
          f"status from {report.get('status_source')}")
    alone = subprocess.run([sys.executable, "-m", "node.cli", "licence", "verify",
                            "licence.json", "--root", "root.pem", "--json"],
                           cwd=fresh, capture_output=True, text=True)
    filed = json.loads(alone.stdout or "{}")
    print(f"   fresh folder with only root.pem: exit {alone.returncode}, "
          f"{filed.get('status')}, {filed.get('in_log')}")
    idno, name = APPLICANTS[0]
    cited = tongban("case", "apply", "--matter", CITING_MATTER, "--applicant", idno, "--name",
                    name, "--material", "居民身份证", "--licence", qr,
                    "--actor", ACTOR_FOR_ROLE["clerk"], home=other, check=False)
    print(f"   540121 免证办 case apply --licence (QR) → exit {cited.returncode}: "
          f"{(cited.stdout or cited.stderr).strip()}")
    print("   " + tongban("licence", "revoke", licence, "--reason", "户口已迁出",
                          home=county).stdout.strip())
    for division in ("540102", "540121", "540100", "540000", "540000", "540100", "540121"):
        fed.sync(division)
    print("   synced up 540102, 540121 → 540100 → 540000 → 000000 (whose serve relays the "
          "revocation by itself), down 540000 → 540100 → 540121")
    after = tongban("licence", "verify", "--qr-text", qr, home=other, check=False)
    print(f"   540121 verifies the QR again: exit {after.returncode}, {after.stderr.strip()}")
    shutil.rmtree(fresh)
    return (seen.returncode == 0 and alone.returncode == 0 and cited.returncode == 0
            and after.returncode == 1 and "is revoked at" in after.stderr)


def supervise(fed: Federation) -> None:
    region = fed.nodes["540000"].home
    red = json.loads(tongban("supervise", "list", "--subtree", "--light", "red", "--json",
                             home=region, env=LATER).stdout)
    print(tongban("supervise", "list", "--subtree", "--by", "county", home=region,
                  env=LATER).stdout)
    if red:
        target, owner = red[0]["case_no"], red[0]["owner"]
        out = tongban("supervise", "notice", target, "--text", "请说明超期原因并限期办结",
                      "--due", "3", home=region, env=LATER).stdout.strip()
        print(f"   {out}")
        for division in ("540100", owner):
            fed.sync(division)
        answer = tongban("supervise", "reply", out.split()[1], "--text",
                         "已联系申请人，材料本周补齐", home=fed.nodes[owner].home, env=LATER)
        print(f"   {answer.stdout.strip()}")
        fed.sync_up_then_down()
    report = ROOT / "report.html"
    print("   " + tongban("report", "--out", str(report.absolute()), "--subtree", home=region,
                         env=LATER).stdout.strip())


def bundle_round(fed: Federation) -> bool:
    """A case written offline travels up by bundle: nothing personal readable on the stick;
    an auditor without the key checks the sender only, the recipient's key opens it; the
    parent imports it and its reply comes back."""
    county, parent = fed.nodes["540121"].home, fed.nodes["540100"].home
    idno, name = APPLICANTS[1]
    birth = [m["name"] for m in materials(county, "540121-QR-002") if m.get("required")]
    case(county, "apply", "--matter", "540121-QR-002", "--applicant", idno, "--name", name,
         *flags(birth))
    up, down = ROOT.absolute() / "540121-up.tbb", ROOT.absolute() / "540121-down.tbb"
    print("   " + tongban("bundle", "export", "--for-parent", "--out", str(up),
                          home=county).stdout.strip())
    raw = up.read_bytes()
    hidden = idno.encode() not in raw and name.encode() not in raw
    print(f"   {up.name}: {len(raw)} bytes, mode {up.stat().st_mode & 0o777:o}, "
          f"applicant's ID number or name readable: {'NO' if hidden else 'YES'}")
    outside = tongban("audit", "verify", str(up), "--root", str(county / "root.crt"),
                      check=False)
    print("   audit without the key: " + next(
        (x for x in outside.stdout.splitlines() if x.startswith("cannot read")), "?")[:110]
        + f"… exit {outside.returncode}")
    inside = tongban("audit", "verify", str(up), "--home", str(parent), check=False)
    print(f"   audit with 540100's key: {inside.stdout.strip().splitlines()[-1]}")
    print("   " + tongban("bundle", "import", str(up), "--reply", str(down),
                          home=parent).stdout.strip().replace("\n", "\n   "))
    print("   " + tongban("bundle", "import", str(down), home=county).stdout.strip())
    same = log_records(county, "540121") == log_records(parent, "540121")
    print(f"   540100 holds 540121's log byte-identical: {'yes' if same else 'NO'}")
    for division in ("540100", "540000"):  # bundles and the network mix: on up it goes
        print("   " + fed.sync(division).stdout.strip())
    return (hidden and same and outside.returncode == 0 and inside.returncode == 0
            and up.stat().st_mode & 0o777 == 0o600)


def catalogue_change(fed: Federation) -> bool:
    """The base catalogue (基本目录) from the region, 四级四同 at 城关区, and a change request
    (会签) proposed by 城关区 and approved by the region, arriving back as base item v2."""
    region, county = fed.nodes["540000"].home, fed.nodes["540102"].home
    up, down = ("540102", "540100"), ("540100", "540102")
    print(tongban("matter", "base", "publish", "--sample", home=region).stdout.splitlines()[-1])
    for division in down:
        fed.sync(division)
    print("   540102: " + tongban("matter", "check", home=county).stdout.strip())
    item = next(i for i in sample_catalogue("540102") if i["impl_code"] == "540102-GG-001")
    item["name"] = "居住证申领"
    changed = ROOT / "540102-GG-001-changed.toml"
    changed.write_text(tomli_w.dumps({"matters": [item]}), encoding="utf-8")
    sent = json.loads(tongban("matter", "propose", str(changed), "--reason", "名称与办事指南统一",
                              "--json", home=county).stdout)[0]
    print(f"   540102: sent change request {sent['id']} to {sent['recipient']}")
    for division in up:
        fed.sync(division)
    print(tongban("matter", "requests", home=region).stdout.rstrip())
    print(tongban("matter", "approve", sent["id"], home=region).stdout.rstrip())
    for division in down:
        fed.sync(division)
    seen = json.loads(tongban("matter", "requests", "--json", home=county).stdout)
    base = {b["base_code"]: b for b in json.loads(
        tongban("matter", "base", "list", "--json", home=county).stdout)}["GG00101000"]
    print(f"   540102 sees {sent['id']}: {seen[-1]['status']}; base item GG00101000 "
          f"v{base['version']} {base['name']} from {base['origin']}")
    deviation = tongban("matter", "check", home=county, check=False)
    print("   540102 matter check: " + " | ".join(deviation.stdout.strip().splitlines()))
    print("   " + tongban("matter", "import", str(changed), home=county).stdout.splitlines()[0])
    clean = tongban("matter", "check", home=county, check=False)
    print("   540102 matter check: " + clean.stdout.strip())
    for division in (*up, "540000"):  # the new records up to the national node
        fed.sync(division)
    return (seen[-1]["status"] == "approved" and base["version"] == 2
            and base["name"] == "居住证申领" and deviation.returncode == 1
            and clean.returncode == 0)


def check_national_holds_counties(fed: Federation) -> bool:
    ok = True
    for county in COUNTIES:
        own = log_records(fed.nodes[county].home, county)
        national = log_records(fed.nodes["000000"].home, county)
        same = own == national
        ok &= same
        print(f"   national holds {len(national)}/{len(own)} records of {county}, "
              f"byte-identical: {'yes' if same else 'NO'}")
    return ok


def check_counties_got_region_item(fed: Federation) -> bool:
    ok = True
    for county in COUNTIES:
        result = tongban("matter", "show", "540000-GF-001", home=fed.nodes[county].home,
                         check=False)
        got = result.returncode == 0
        ok &= got
        print(f"   {county} has the region's item 540000-GF-001: {'yes' if got else 'NO'}")
    return ok


def check_audit(fed: Federation) -> bool:
    national = fed.nodes["000000"].home
    result = tongban("audit", "verify", str(national), check=False)
    lines = result.stdout.strip().splitlines()
    print(f"   tongban audit verify (national node): {lines[-1] if lines else result.stderr}")
    return result.returncode == 0


def prepare_handler(fed: Federation) -> None:
    """天山区 registers its staff and loads the sample catalogue; the national node
    publishes the 跨省通办 list, which the sync round takes down to every county."""
    handler = fed.nodes[HANDLER].home
    for staff_id, name, roles in STAFF:
        tongban("staff", "add", "--id", staff_id, "--name", name,
                *[a for role in roles for a in ("--role", role)], home=handler, env=EARLY)
    tongban("matter", "import", "--sample", home=handler, env=EARLY)
    print("   " + tongban("crossregion", "publish", str(CROSS_LIST),
                          home=fed.nodes["000000"].home).stdout.strip())


def carry(fed: Federation, path: tuple[str, ...]) -> None:
    """One `sync --once` on each node along the way, in order."""
    for division in path:
        fed.sync(division)


def cross_region(fed: Federation) -> bool:
    """The conversation of one 代收代办 case, printed as both ends see it."""
    window, handler = fed.nodes["540102"].home, fed.nodes[HANDLER].home
    there = ("540102", "540100", "540000", "650000", "650100", HANDLER)
    back = tuple(reversed(there))
    idno, name = APPLICANTS[0]
    listed = json.loads(tongban("crossregion", "list", "--json", home=window).stdout)
    entry = next(r for r in listed if r["base_code"] == "GG00101000" and r["division"] == HANDLER)
    case_no = case(window, "apply", "--matter", "GG00101000", "--handled-by", HANDLER,
                   "--applicant", idno, "--name", name, *flags(entry["materials"]))
    carry(fed, there)
    print(tongban("case", "list", "--incoming", home=handler).stdout)
    for step in (["accept"], ["review"], ["decide", "--approve"], ["conclude"]):
        case(handler, step[0], case_no, *step[1:])
    carry(fed, back)
    case(window, "deliver", case_no, "--method", "窗口领取")
    carry(fed, there)
    seen = {}
    for label, home in (("城关区 540102 (receiving window)", window),
                        ("天山区 650102 (handler)", handler)):
        print(f"   --- as {label} sees it")
        print(tongban("case", "show", case_no, "--history", home=home).stdout)
        seen[label] = json.loads(tongban("case", "show", case_no, "--history", "--json",
                                         home=home).stdout)
    views = list(seen.values())
    same = views[0]["history"] == views[1]["history"] and \
        views[0]["state"] == views[1]["state"] == "delivered"
    print(f"   both ends show the same case, 送达 at the window: {'yes' if same else 'NO'}")
    return same
def handling_modes(fed: Federation) -> bool:
    """容缺 with two owed materials, 补正 answered in part, 告知承诺 with its 核查, and an
    一件事 application whose member cases are handled in parallel; then one sync round,
    after which the region derives the same theme state from the county's log."""
    county, region = fed.nodes["540102"].home, fed.nodes["540000"].home
    idno, name = APPLICANTS[0]

    def show(case_no: str, home: Path = county) -> dict:
        return json.loads(tongban("case", "show", case_no, "--json", home=home).stdout)

    freight = "540102-XK-007"   # 道路普通货物运输经营许可: two materials allow 容缺
    owed = [m["name"] for m in materials(county, freight) if m.get("deferrable")]
    handed = [m["name"] for m in materials(county, freight)
              if m.get("required") and m["name"] not in owed]
    deferred = case(county, "apply", "--matter", freight, "--applicant", idno, "--name", name,
                    *flags(handed))
    case(county, "accept", deferred, *flags(owed, "--missing"), "--due", "3", "--due", "10")
    owing = show(deferred)["owed_due"]
    print(f"   {deferred} owes (容缺): " + "; ".join(f"{m} due {d}" for m, d in owing.items()))
    case(county, "supply", deferred, "--material", owed[0])

    residence = "540102-GG-001"
    needed = [m["name"] for m in materials(county, residence) if m.get("required")]
    asked = case(county, "apply", "--matter", residence, "--applicant", APPLICANTS[1][0],
                 "--name", APPLICANTS[1][1], *flags(needed[:1]))
    case(county, "request-supplement", asked, *flags(needed[1:]))
    print("   " + tongban("case", "notice", asked, home=county).stdout.replace("\n", "\n   "))
    case(county, "supply", asked, "--material", needed[1])
    partly = show(asked)
    print(f"   after supplying {needed[1]}: {partly['state']}, still requested "
          f"{partly['requested']}, round {partly['supplement_rounds']}")

    fire = "540102-XK-009"      # 消防安全检查: 告知承诺 (消防法 第十五条)
    committed = [m["name"] for m in materials(county, fire) if m.get("commitment")]
    papers = [m["name"] for m in materials(county, fire)
              if m.get("required") and m["name"] not in committed]
    promised = case(county, "apply", "--matter", fire, "--applicant", idno, "--name", name,
                    *flags(papers))
    case(county, "accept", promised, *flags(committed, "--commit"))
    for step in (["review"], ["decide", "--approve"], ["conclude"]):
        case(county, step[0], promised, *step[1:])
    print(f"   {promised} decided on commitment for {', '.join(committed)}; "
          f"核查 due {show(promised)['check_due']}")
    case(county, "check", promised, "--kept")

    theme = "540102-YJS-001"    # 开办餐饮店“一件事”
    merged = [m["name"] for m in materials(county, theme)
              if m.get("required") and m["name"] not in committed]
    opened = json.loads(tongban("case", "apply", "--matter", theme, "--applicant", idno,
                                "--name", name, *flags(merged), "--json",
                                "--actor", ACTOR_FOR_ROLE["clerk"], home=county).stdout)
    number = opened["case_no"]
    print(f"   tongban case apply --matter {theme} … → {number} with "
          f"{len(opened['members'])} member cases")
    for member in opened["members"]:
        extra = flags(committed, "--commit") if member["matter_code"] == fire else []
        case(county, "accept", member["case_no"], *extra)
    for member in opened["members"]:
        for step in (["review"], ["decide", "--approve"], ["conclude"]):
            case(county, step[0], member["case_no"], *step[1:])
    print(tongban("case", "show", number, home=county).stdout)
    fed.sync_up_then_down()
    seen = show(number, region)
    print(f"   540000 after sync: theme {number} {seen['state']} ({seen['reason']}), members "
          + ", ".join(f"{m['case_no']} {m['state']}" for m in seen["members"]))
    return (len(owing) == 2 and partly["state"] == "supplement" and len(partly["requested"])
            == len(needed) - 2 and show(promised)["check_result"] == "kept"
            and seen["state"] == "concluded" and len(seen["members"]) == 3)


if __name__ == "__main__":
    sys.exit(main())
