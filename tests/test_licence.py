"""Licences end to end: seal, issue, export, verify offline, QR at other nodes, revoke, 免证办.

A real seven-node federation (national, Tibet with Lhasa and two counties,
Xinjiang with one county) built and synced with the real `tongban` commands
and servers; refusals are checked through the real verification code.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from node_fixtures import dump_projections, register_staff, tongban
from pki_fixtures import duplicate_extension_der

from node.authority import AuthorityViolation
from node.clock import wall_ms
from node.home import Home
from node.licence_export import describe
from node.licence_format import from_qr_text, parse_sealed, qr_text, seal
from node.licence_projection import TABLES
from node.licence_verify import (
    EXPIRED,
    REVOKED,
    node_trust,
    verify_held,
    verify_qr,
    verify_sealed,
)
from node.seals import seal_key_path, signing_seal
from node.store import Draft, NodeStore
from ops.localfed import Federation
from pki.errors import VerificationError
from pki.keys import generate_key, load_private_key
from protos.tongban.v1 import record_pb2
from sync.records import build_record, parse_record

DATA = Path(__file__).parent / "data"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
HOLDER = "540102199001010011"
BODY = "11540102015712342L"        # 拉萨市公安局城关分局 in the sample catalogue
BODY_540121 = "11540121MB0A00010G"
MATTER = "540102-QR-001"
MATERIALS = ["居民户口簿", "居民身份证",
             "落户依据材料（劳动合同、录取通知书、不动产权证书或亲属关系证明）"]


def cli(*args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in this process, exit status and stderr kept for the refusals checked here."""
    return tongban(*args, home=home, check=False)


def issue_licence(home: Path, applicant: str = HOLDER) -> str:
    out = tongban("case", "apply", "--matter", MATTER, "--applicant", applicant, "--name", "扎西",
                  *[a for m in MATERIALS for a in ("--material", m)], home=home).stdout
    case_no = out.split()[0]
    for action in (["accept"], ["review"], ["decide", "--approve"]):
        tongban("case", *action[:1], case_no, *action[1:], home=home)
    concluded = tongban("case", "conclude", case_no, home=home).stdout
    assert f"next: this case produces a 居民户口簿 (GA0001): tongban licence issue {case_no}" \
        in concluded
    issued = tongban("licence", "issue", case_no, home=home).stdout
    return issued.split()[0]


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    fed = Federation(tmp_path_factory.mktemp("licfed"), run=tongban)
    for code, parent in [("000000", None), ("540000", "000000"), ("540100", "540000"),
                         ("540102", "540100"), ("540121", "540100"), ("650000", "000000"),
                         ("650102", "650000")]:
        fed.add(code, parent)
    county = fed.nodes["540102"].home
    tongban("matter", "import", "--sample", home=county)
    tongban("matter", "import", str(DATA / "licence_650102.toml"), home=fed.nodes["650102"].home)
    tongban("seal", "create", "--body-uscc", BODY, "--name", "拉萨市公安局城关分局", home=county)
    for code in ("540102", "540121", "650102"):
        register_staff(fed.nodes[code].home)
    for code in ("000000", "540000", "540100", "650000"):
        fed.start(code)
    yield fed
    fed.stop_all()


def propagate(fed: Federation) -> None:
    """Everything up to the national node and back down; no manual relay.

    The national node's ``serve`` relays seals and revocations by itself when a
    push brings them; the regions pull the relay record in the round down.
    """
    for code in ("540102", "540121", "540100", "540000", "650102", "650000"):
        fed.sync(code)
    for code in ("540000", "650000", "540100", "650102", "540102", "540121"):
        fed.sync(code)


def test_file_verifies_on_a_machine_with_only_the_root(fed, tmp_path, monkeypatch):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    tongban("licence", "export", licence, "--out", str(fresh / "licence.json"), home=county)
    shutil.copy(county / "root.crt", fresh / "root.pem")
    assert (fresh / "licence.json").stat().st_mode & 0o777 == 0o600
    monkeypatch.chdir(fresh)            # a folder with the file and the root, and no node
    result = cli("licence", "verify", "licence.json", "--root", "root.pem", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "valid" and report["holder"] == f"扎西 {HOLDER}"
    assert report["in_log"].startswith("540102#") and report["checked_by"] == "file"
    assert "holds no revocation information" in report["status_source"]
    # One changed byte anywhere in the licence is refused, naming what it is.
    doc = json.loads((fresh / "licence.json").read_text())
    sealed = parse_sealed(__import__("base64").b64decode(doc["sealed"]))
    forged = sealed.payload.replace("扎西".encode(), "多吉".encode())
    doc["sealed"] = __import__("base64").b64encode(
        __import__("cbor2").dumps(__import__("cbor2").CBORTag(
            18, [sealed.protected, {}, forged, sealed.signature]))).decode()
    (fresh / "tampered.json").write_text(json.dumps(doc))
    bad = cli("licence", "verify", "tampered.json", "--root", "root.pem")
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error: the licence in the file is not the one in "
                                         "540102's log record")
    assert "tampered field" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    doc = json.loads((fresh / "licence.json").read_text())
    doc["seal_chain"][0] = __import__("base64").b64encode(duplicate_extension_der()).decode()
    (fresh / "odd-seal.json").write_text(json.dumps(doc))
    odd = cli("licence", "verify", "odd-seal.json", "--root", "root.pem")
    assert odd.returncode == 1 and odd.stderr.startswith(
        "error: malformed licence file seal_chain: certificate does not parse: Duplicate")
    assert len(odd.stderr.strip().splitlines()) == 1
    missing = cli("licence", "verify", "licence.json", "--root", "nothing.pem")
    assert missing.returncode == 2


@pytest.mark.skipif(not Path(OPENSSL).exists(), reason="needs the openssl binary")
def test_seal_checks_with_openssl_alone(fed, tmp_path):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    out = tmp_path / "ossl"
    tongban("licence", "export", licence, "--openssl", str(out), home=county)
    chain = subprocess.run([OPENSSL, "verify", "-CAfile", "root.pem", "-untrusted", "chain.pem",
                            "seal.pem"], cwd=out, capture_output=True, text=True)
    sig = subprocess.run([OPENSSL, "dgst", "-sha256", "-verify", "seal-pubkey.pem",
                          "-signature", "licence.sig", "licence.tbs"], cwd=out,
                         capture_output=True, text=True)
    assert (chain.returncode, chain.stdout.strip()) == (0, "seal.pem: OK")
    assert (sig.returncode, sig.stdout.strip()) == (0, "Verified OK")
    tbs = bytearray((out / "licence.tbs").read_bytes())
    tbs[-5] ^= 1
    (out / "licence.tbs").write_bytes(bytes(tbs))
    sig = subprocess.run([OPENSSL, "dgst", "-sha256", "-verify", "seal-pubkey.pem",
                          "-signature", "licence.sig", "licence.tbs"], cwd=out,
                         capture_output=True, text=True)
    assert sig.returncode == 1 and "Verification failure" in sig.stdout + sig.stderr


def test_qr_elsewhere_revocation_and_mutual_recognition_across_regions(fed, tmp_path):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    qr = tongban("licence", "export", licence, "--qr-text", home=county).stdout.strip()
    assert len(qr) < 600
    tongban("licence", "export", licence, "--out", str(tmp_path / "licence.json"), home=county)
    # Before the relay a Xinjiang county knows neither the seal nor its node.
    unknown = cli("licence", "verify", "--qr-text", qr, home=fed.nodes["650102"].home)
    assert unknown.returncode == 1 and "unknown seal" in unknown.stderr
    propagate(fed)
    for code in ("540121", "650102"):
        result = cli("licence", "verify", "--qr-text", qr, "--json", home=fed.nodes[code].home)
        assert result.returncode == 0, (code, result.stderr)
        report = json.loads(result.stdout)
        assert report["status"] == "valid" and report["checked_by"] == "qr"
        assert report["status_source"].startswith("national relay")
    # 免证办 at 650102: the household register is not handed in on paper.
    xinjiang = fed.nodes["650102"].home
    applied = tongban("case", "apply", "--matter", "650102-GF-001", "--applicant", HOLDER,
                      "--name", "扎西", "--material", "居民身份证", "--licence",
                      str(tmp_path / "licence.json"), home=xinjiang).stdout
    case_no = applied.split()[0]
    shown = json.loads(tongban("case", "show", case_no, "--history", "--json",
                               home=xinjiang).stdout)
    assert "居民户口簿" in shown["materials"]
    (cited,) = shown["history"][0]["details"]["licences"]
    assert f'licence_id: "{licence}"' in cited and 'checked_by: "file"' in cited
    assert tongban("case", "accept", case_no, home=xinjiang).returncode == 0
    other = cli("case", "apply", "--matter", "650102-GF-001", "--applicant",
                "540102199001010038", "--name", "次仁", "--material", "居民身份证",
                "--licence", qr, home=xinjiang)
    assert other.returncode == 1
    assert other.stderr.strip() == (f"error: licence {licence} is held by 扎西, not the "
                                    "applicant 540102199001010038")
    # Revoke at the county; the revocation reaches the other region through the relay
    # that the national serve process ran by itself: a manual relay finds nothing left.
    tongban("licence", "revoke", licence, "--reason", "户口已迁出", home=county)
    propagate(fed)
    assert tongban("licence", "relay", home=fed.nodes["000000"].home).stdout.strip() == \
        "relayed 0 revocations and 0 certificates in 0 records"
    assert "licence relay (push of 540102): 1 revocations" in \
        fed.nodes["000000"].log_path.read_text()
    result = cli("licence", "verify", "--qr-text", qr, home=xinjiang)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: licence {licence} is revoked at ")
    assert "户口已迁出" in result.stderr
    refused = cli("case", "apply", "--matter", "650102-GF-001", "--applicant", HOLDER,
                  "--name", "扎西", "--material", "居民身份证", "--licence", qr, home=xinjiang)
    assert refused.returncode == 1 and "is revoked at" in refused.stderr


def _claims(store: NodeStore, licence: str):
    qr = tongban("licence", "export", licence, "--qr-text", home=store.home.path).stdout.strip()
    return parse_sealed(from_qr_text(qr)).claims(), qr


def test_forged_other_division_expired_and_revoked_seals_are_refused(fed):
    store = NodeStore.open(Home(fed.nodes["540102"].home))
    licence = issue_licence(store.home.path)
    claims, qr = _claims(store, licence)
    trust = node_trust(store)
    now = datetime.now(UTC)
    key, cert = signing_seal(store, BODY)
    assert verify_sealed(seal(claims, key, cert), cert, trust, now) == claims
    # Forged seal: same subject and issuer name, signed by a key that is not 540102's.
    forger = generate_key()
    node_cert = x509.load_pem_x509_certificate((store.home.cert_path).read_bytes())
    fake = (x509.CertificateBuilder().subject_name(cert.subject)
            .issuer_name(node_cert.subject).public_key(forger.public_key())
            .serial_number(7).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=9)))
    for extension in cert.extensions:
        fake = fake.add_extension(extension.value, extension.critical)
    fake = fake.sign(forger, hashes.SHA256())
    with pytest.raises(VerificationError, match=r"^forged seal: the certificate of seal "
                       rf"{BODY} .* was not issued by node 540102$"):
        verify_sealed(seal(claims, forger, fake), fake, trust, now)
    # Seal from another division: 540121's body seal on a licence that says 540102.
    other = NodeStore.open(Home(fed.nodes["540121"].home))
    tongban("seal", "create", "--body-uscc", BODY_540121, "--name", "林周县公安局",
            home=other.home.path)
    other_key, other_cert = signing_seal(other, BODY_540121)
    trust.certificates.append(x509.load_pem_x509_certificate(other.home.cert_path.read_bytes()))
    with pytest.raises(VerificationError, match=r"^seal from another division: licence .* of "
                       r"540102 is sealed with the seal of 林周县公安局"):
        verify_sealed(seal(claims, other_key, other_cert), other_cert, trust, now)
    refused = cli("seal", "create", "--body-uscc", BODY, "--name", "城关分局",
                  home=other.home.path)
    assert refused.returncode == 1 and "subtree violation: issuer 540121" in refused.stderr
    # Expired: a genuine seal over a licence whose validity has ended (at a seq this node
    # holds no record of, so only the seal vouches for it).
    old = replace(claims, valid_from="2020-01-01", valid_to="2021-12-31", seq=claims.seq + 10**6)
    verdict = verify_qr(store, seal(old, key, cert), now, date.today())
    assert (verdict.status, verdict.detail) == (EXPIRED, "expired: valid to 2021-12-31")
    assert cli("licence", "verify", "--qr-text", qr_text(seal(old, key, cert)),
               home=store.home.path).stderr.strip() == \
        f"error: licence {licence} is expired: valid to 2021-12-31"
    # A revoked seal takes its licences with it.
    assert seal_key_path(store.home, BODY).stat().st_mode & 0o777 == 0o600
    assert load_private_key(seal_key_path(store.home, BODY))
    tongban("seal", "revoke", "--body-uscc", BODY, "--reason", "keyCompromise",
            home=store.home.path)
    verdict = verify_qr(NodeStore.open(store.home), from_qr_text(qr), now, date.today())
    assert verdict.status == REVOKED and "its seal" in verdict.detail
    tongban("seal", "create", "--body-uscc", BODY, "--name", "拉萨市公安局城关分局",
            home=store.home.path)
    assert NameOID.SERIAL_NUMBER


def test_only_the_issuing_node_revokes(fed):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    fed.sync("540102")
    lhasa = fed.nodes["540100"].home
    shown = json.loads(tongban("licence", "show", licence, "--json", home=lhasa).stdout)
    assert shown["origin"] == "540102"
    refused = cli("licence", "revoke", licence, "--reason", "x", home=lhasa)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"error: licence {licence} belongs to 540102; 540100 may "
                                      "not revoke it")


def _dump(home: Path) -> list[str]:
    db = sqlite3.connect(home / "node.db")
    try:
        return list(db.iterdump())
    finally:
        db.close()


def _licence_body(store: NodeStore, licence: str) -> bytes:
    """The body of a licence record as the issuer wrote it (exact bytes)."""
    (origin, seq), = store.db.execute("SELECT origin, seq FROM licences WHERE licence_id = ?",
                                      (licence,)).fetchall()
    return parse_record(store.log.record(origin, seq)).body


def _breaking_drafts(issuer: NodeStore, licence: str) -> dict[str, tuple[int, bytes]]:
    """Records 540121 may not author: another node's licence, its revocation, the relay."""
    revoked = record_pb2.LicenceRevoked(licence_id=licence, reason="x", revoked_at_ms=1)
    return {
        "issue": (record_pb2.LICENCE_ISSUED, _licence_body(issuer, licence)),
        "revoke": (record_pb2.LICENCE_REVOKED, revoked.SerializeToString()),
        "status": (record_pb2.LICENCE_STATUS, record_pb2.LicenceStatus(revocations=[
            record_pb2.RelayedRevocation(issuer="540102", seq=1, licence_id=licence,
                                         revoked_at_ms=1, reason="x")]).SerializeToString()),
    }


def test_own_writes_breaking_licence_authority_are_refused_and_leave_no_trace(fed):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    fed.sync("540102")
    other_home = fed.nodes["540121"].home
    refused = cli("licence", "relay", home=other_home)
    assert (refused.returncode, refused.stderr) == (
        1, "error: the licence status relay runs at 000000, not 540121\n")
    before = _dump(other_home)
    issuer, other = NodeStore.open(Home(county)), NodeStore.open(Home(other_home))
    expected = {"issue": f"licence {licence} belongs to 540102; 540121#",
                "revoke": f"licence {licence} belongs to 540102; 540121 may not revoke it",
                "status": "the licence status relay belongs to 000000; 540121 may not write it"}
    for rule, (kind, body) in _breaking_drafts(issuer, licence).items():
        with pytest.raises(AuthorityViolation) as caught:
            other.write([Draft.of_body(kind, body)])
        message = caught.value.diagnostics()
        assert message.startswith(expected[rule]) and "\n" not in message, rule
    other.close()
    issuer.close()
    assert _dump(other_home) == before


def _append_unchecked(store: NodeStore, kind: int, body: bytes) -> None:
    """What a misbehaving node could do: sign a record into its own log, no rule applied.

    The record is built, appended and covered by a checkpoint signed with the
    node's real key, exactly as NodeStore.write does, minus the projection that
    would refuse it; a parent receives it as a genuine record of that node.
    """
    with store.transaction():
        seq = store.log.size(store.division)
        data = build_record(store.division, seq, store.clock.tick(wall_ms()), kind, body)
        store.log.append(store.division, seq, [data])
        store.db.execute("INSERT INTO arrivals (origin, seq) VALUES (?, ?)",
                         (store.division, seq))
        store._sign_checkpoint()


def test_received_records_breaking_licence_authority_are_kept_but_not_projected(fed):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    fed.sync("540102")
    issuer, other = NodeStore.open(Home(county)), NodeStore.open(Home(fed.nodes["540121"].home))
    first = other.log.size("540121")
    for kind, body in _breaking_drafts(issuer, licence).values():
        _append_unchecked(other, kind, body)
    issuer.close()
    other.close()
    fed.sync("540121")                  # to 540100, whose serve receives them leniently
    lhasa = sqlite3.connect(fed.nodes["540100"].home / "node.db")
    try:
        errors = dict(lhasa.execute("SELECT seq, reason FROM authority_violations"
                                    " WHERE origin = ?", ("540121",)).fetchall())
        held = lhasa.execute("SELECT count(*) FROM records WHERE origin = '540121' AND seq >= ?",
                             (first,)).fetchone()[0]
        revoked = lhasa.execute("SELECT count(*) FROM licence_revocations WHERE licence_id = ?",
                                (licence,)).fetchone()[0]
        owner = lhasa.execute("SELECT origin FROM licences WHERE licence_id = ?",
                              (licence,)).fetchall()
    finally:
        lhasa.close()
    assert held == 3                    # the log is the truth: stored, as evidence
    assert sorted(errors) == [first, first + 1, first + 2]
    assert errors[first].startswith(f"licence {licence} belongs to 540102; 540121#{first} may "
                                    "not issue it")
    assert errors[first + 1] == f"licence {licence} belongs to 540102; 540121 may not revoke it"
    assert errors[first + 2] == ("the licence status relay belongs to 000000; 540121 may not "
                                 "write it")
    assert (revoked, owner) == (0, [("540102",)])


def test_a_licence_of_the_wrong_type_is_refused_in_mianzheng(fed):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    refused = cli("case", "apply", "--matter", "540102-GG-001", "--applicant", HOLDER,
                  "--name", "扎西", "--licence", licence, home=county)
    assert refused.returncode == 1
    assert refused.stderr == (f"error: licence {licence} is a 居民户口簿 (GA0001); no material "
                              "of matter 540102-GG-001 is satisfied by that type\n")


def test_rebuild_gives_identical_licence_tables(fed):
    propagate(fed)                      # 650102 now holds relayed seals and revocations
    for code in ("540102", "650102"):
        home = fed.nodes[code].home
        before = dump_projections(home / "node.db")
        assert set(TABLES) <= set(before)
        tongban("db", "rebuild", home=home)
        assert dump_projections(home / "node.db") == before, code
    county = dump_projections(fed.nodes["540102"].home / "node.db")
    xinjiang = dump_projections(fed.nodes["650102"].home / "node.db")
    assert county["seals"] and county["licences"] and county["licence_revocations"]
    assert xinjiang["relayed_certs"] and xinjiang["licence_revocations"]


TYPES_FILE = '''
[[types]]
code = "GA0001"
name = "{ga0001}"
holder = "自然人"

[[types]]
code = "{extra}"
name = "{extra_name}"
holder = "自然人"
'''


def test_licence_types_are_published_downward_and_used_below(fed, tmp_path):
    national, region = fed.nodes["000000"].home, fed.nodes["650000"].home
    xinjiang = fed.nodes["650102"].home
    item = (DATA / "licence_650102.toml").read_text().replace("650102-GF-001", "650102-GF-009")
    item = item.replace('licence_type = "GA0001"', 'licence_type = "QG0009"')
    (tmp_path / "item.toml").write_text(item)
    before = cli("matter", "import", str(tmp_path / "item.toml"), home=xinjiang)
    assert before.returncode == 1 and "unknown licence type 'QG0009'" in before.stderr
    shown = json.loads(tongban("licence", "types", "list", "--json", home=xinjiang).stdout)
    assert shown["source"] == "shipped node/data/licence_types.toml"
    # The national node's initial publication is the shipped file; then one type more.
    assert tongban("licence", "types", "publish", home=national).stdout.strip() == \
        "5 published, 0 unchanged"
    (tmp_path / "national.toml").write_text(TYPES_FILE.format(
        ga0001="居民户口簿", extra="QG0009", extra_name="全国通用证明"))
    assert tongban("licence", "types", "publish", str(tmp_path / "national.toml"),
                   home=national).stdout.strip() == "1 published, 1 unchanged"
    # A province may publish types of its own; the national node's code keeps its meaning.
    (tmp_path / "region.toml").write_text(TYPES_FILE.format(
        ga0001="户口本", extra="XJ0001", extra_name="新疆居住登记凭证"))
    tongban("licence", "types", "publish", str(tmp_path / "region.toml"), home=region)
    refused = cli("licence", "types", "publish", home=xinjiang)
    assert refused.returncode == 1 and refused.stderr == (
        "error: licence types belong to 000000 and the provinces; 650102 may not publish one"
        " (rule licence-type-publisher)\n")
    for code in ("650000", "650102"):
        fed.sync(code)
    shown = json.loads(tongban("licence", "types", "list", "--json", home=xinjiang).stdout)
    by_code = {t["code"]: t for t in shown["types"]}
    assert shown["source"] == "published"
    assert by_code["GA0001"]["name"] == "居民户口簿"
    assert by_code["GA0001"]["published_by"].startswith("000000#")
    assert by_code["XJ0001"]["published_by"].startswith("650000#")
    assert by_code["QG0009"]["name"] == "全国通用证明"
    assert tongban("matter", "import", str(tmp_path / "item.toml"), home=xinjiang).returncode == 0
    # Rebuilt from the log, the types table is the same.
    types_before = dump_projections(xinjiang / "node.db")["licence_types"]
    tongban("db", "rebuild", home=xinjiang)
    assert dump_projections(xinjiang / "node.db")["licence_types"] == types_before


def test_a_qr_is_checked_against_the_licence_record_where_it_is_held(fed):
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    propagate(fed)
    store = NodeStore.open(Home(county))
    claims, qr = _claims(store, licence)
    lhasa = json.loads(tongban("licence", "verify", "--qr-text", qr, "--json",
                               home=fed.nodes["540100"].home).stdout)
    assert lhasa["in_log"] == f"540102#{claims.seq} in this node's copy of the log"
    far = json.loads(tongban("licence", "verify", "--qr-text", qr, "--json",
                             home=fed.nodes["650102"].home).stdout)
    assert (far["status"], far["in_log"]) == ("valid", "-")   # no copy there: the seal vouches
    # A genuine seal over other claims under the same number: the record held says otherwise.
    key, cert = signing_seal(store, BODY)
    second = seal(replace(claims, holder_name="多吉"), key, cert)
    with pytest.raises(VerificationError, match=rf"^the QR licence {licence} is not the one in "
                       rf"540102's log record #{claims.seq} \(tampered field"):
        verify_qr(store, second, datetime.now(UTC), date.today())
    store.close()


def test_a_status_time_past_the_calendar_is_shown_not_crashed_on(fed):
    """A national record dated by a broken clock (year 10000 in China time, or before 0001)
    is the status time of every licence verified against it: it must still print."""
    county = fed.nodes["540102"].home
    licence = issue_licence(county)
    store = NodeStore.open(Home(county))
    try:
        verdict = verify_held(store, licence, datetime.now(UTC), date.today())
    finally:
        store.close()
    end_of_9999 = int(datetime(9999, 12, 31, 23, tzinfo=UTC).timestamp() * 1000)
    for ms, shown in ((end_of_9999, "after 9999"), (-(2**62), "before 0001"),
                      (2**64 - 1, "after 9999")):
        assert describe(replace(verdict, status_as_of_ms=ms))["status_as_of"] == shown
