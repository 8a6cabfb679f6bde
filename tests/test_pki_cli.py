"""`tongban pki` end to end on real homes: enrol a region and a county, rotate, export."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from pki_fixtures import NOW

from node.cli.pki import pki_group
from node.home import Config, Home
from pki import certs, keys
from pki.checkpoint import CheckpointSigner, verify_checkpoint
from pki.errors import Error
from sync.log import LogStore

CLOCK = {"TONGBAN_CLOCK": NOW.isoformat()}


class OneLine(click.Group):
    """What the main command does with our errors: one line on stderr, the error's code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Error as exc:
            click.echo(f"error: {exc.diagnostics()}", err=True)
            ctx.exit(exc.exit_code)


cli = OneLine(commands={"pki": pki_group})


def run(*args: str, code: int = 0, env: dict | None = None) -> Result:
    result = CliRunner().invoke(cli, ["pki", *args], env={**CLOCK, **(env or {})})
    assert result.exit_code == code, (args, result.output, result.exception)
    if code:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    return result


def new_home(tmp_path: Path, code: str) -> Home:
    home = Home(tmp_path / f"node-{code}")
    home.path.mkdir(parents=True)
    home.save_config(Config(division=code, name=f"节点{code}"))
    keys.save_private_key(keys.generate_key(), home.key_path)
    return home


@pytest.fixture
def enrolled(tmp_path):
    """An offline root CA, a region home enrolled by it, a county enrolled by the region."""
    ca = tmp_path / "ca"
    run("init-root", "--out", str(ca))
    region = new_home(tmp_path, "540000")
    run("csr", "--home", str(region.path))
    run("issue", str(region.csr_path), "--out", str(tmp_path / "region.pem"),
        "--ca-cert", str(ca / "root.crt"), "--ca-key", str(ca / "root.key"))
    run("import", str(tmp_path / "region.pem"), "--home", str(region.path))
    county = new_home(tmp_path, "540102")
    run("csr", "--home", str(county.path))
    run("issue", str(county.csr_path), "--out", str(tmp_path / "county.pem"),
        "--home", str(region.path))
    run("import", str(tmp_path / "county.pem"), "--home", str(county.path))
    return ca, region, county


def test_init_root_writes_key_0600_and_cert(tmp_path):
    result = run("init-root", "--out", str(tmp_path / "ca"), "--days", "100")
    lines = result.output.splitlines()
    assert lines[0].startswith("root CA 000000 serial ") and lines[0].endswith("2026-06-09")
    assert lines[2].endswith("root.key (mode 0600; keep it offline)")
    assert stat.S_IMODE((tmp_path / "ca" / "root.key").stat().st_mode) == 0o600
    root = certs.load_cert((tmp_path / "ca" / "root.crt").read_bytes())
    assert certs.is_self_signed(root) and certs.division_of(root) == "000000"
    again = run("init-root", "--out", str(tmp_path / "ca"), code=1)
    assert "root.crt already exists; nothing changed" in again.stderr


def test_enrolment_installs_chain(tmp_path, enrolled):
    ca, _, county = enrolled
    bundle = certs.load_certs((tmp_path / "county.pem").read_bytes())
    assert [certs.division_of(c) for c in bundle] == ["540102", "540000", "000000"]
    assert certs.load_cert(county.cert_path.read_bytes()) == bundle[0]
    assert certs.load_certs(county.chain_path.read_bytes()) == bundle[1:]
    assert county.root_cert_path.read_bytes() == (ca / "root.crt").read_bytes()
    assert not county.csr_path.exists()


def test_csr_prints_its_path(tmp_path):
    home = new_home(tmp_path, "540102")
    result = run("csr", "--home", str(home.path))
    assert result.output == f"{home.csr_path}\n"
    assert certs.csr_division(certs.load_csr(home.csr_path.read_bytes())) == "540102"


def test_issue_output_line(tmp_path, enrolled):
    _, region, _ = enrolled
    home = new_home(tmp_path, "540103")
    run("csr", "--home", str(home.path))
    result = run("issue", str(home.csr_path), "--out", str(tmp_path / "x.pem"), "--days", "10",
                 "--home", str(region.path))
    assert result.output.startswith("issued 540103 serial ")
    assert result.output.endswith(f"valid until 2026-03-11: {tmp_path / 'x.pem'}\n")


def test_issue_refuses_subtree_violation_in_one_line(tmp_path, enrolled):
    ca, _, _ = enrolled
    xinjiang = new_home(tmp_path, "650000")
    run("csr", "--home", str(xinjiang.path))
    run("issue", str(xinjiang.csr_path), "--out", str(tmp_path / "xj.pem"),
        "--ca-cert", str(ca / "root.crt"), "--ca-key", str(ca / "root.key"))
    run("import", str(tmp_path / "xj.pem"), "--home", str(xinjiang.path))
    other = new_home(tmp_path / "elsewhere", "540102")
    run("csr", "--home", str(other.path))
    result = run("issue", str(other.csr_path), "--out", str(tmp_path / "bad.pem"),
                 "--home", str(xinjiang.path), code=1)
    assert result.stderr == (
        "error: subtree violation: issuer 650000 may not certify 540102 "
        "(want a division strictly inside 650000's subtree)\n"
    )
    assert not (tmp_path / "bad.pem").exists()


def test_issue_needs_chain_for_non_root_issuer(tmp_path, enrolled):
    _, region, _ = enrolled
    home = new_home(tmp_path, "540103")
    run("csr", "--home", str(home.path))
    result = run("issue", str(home.csr_path), "--out", str(tmp_path / "x.pem"),
                 "--ca-cert", str(region.cert_path), "--ca-key", str(region.key_path), code=1)
    assert result.stderr == "error: issuer 540000 is not the root: pass its chain with --chain\n"
    run("issue", str(home.csr_path), "--out", str(tmp_path / "x.pem"),
        "--ca-cert", str(region.cert_path), "--ca-key", str(region.key_path),
        "--chain", str(region.chain_path))
    result = run("issue", str(home.csr_path), "--out", str(tmp_path / "y.pem"),
                 "--ca-cert", str(region.cert_path), code=1)
    assert "--ca-cert and --ca-key go together" in result.stderr


def test_issue_malformed_csr(tmp_path, enrolled):
    _, region, _ = enrolled
    (tmp_path / "bad.csr").write_text("garbage")
    result = run("issue", str(tmp_path / "bad.csr"), "--out", str(tmp_path / "x.pem"),
                 "--home", str(region.path), code=1)
    assert result.stderr.startswith(f"error: malformed {tmp_path / 'bad.csr'}: bad PEM")


def test_missing_home_files_exit_2(tmp_path):
    result = run("show", "--home", str(tmp_path / "nowhere"), code=2)
    assert result.stderr.startswith(
        f"error: no node certificate at {tmp_path / 'nowhere' / 'node.crt'}: enrol the node")


def test_import_refusals(tmp_path, enrolled):
    _, region, county = enrolled
    result = run("import", str(tmp_path / "county.pem"), "--home", str(region.path), code=1)
    assert result.stderr == "error: certificate is for 540102, but this node is 540000\n"
    twin = new_home(tmp_path / "twin", "540102")
    result = run("import", str(tmp_path / "county.pem"), "--home", str(twin.path), code=1)
    assert "node key does not match the certificate for 540102" in result.stderr
    other_ca = tmp_path / "other-ca"
    run("init-root", "--out", str(other_ca))
    run("csr", "--home", str(county.path))
    run("issue", str(county.csr_path), "--out", str(tmp_path / "foreign.pem"),
        "--ca-cert", str(other_ca / "root.crt"), "--ca-key", str(other_ca / "root.key"))
    result = run("import", str(tmp_path / "foreign.pem"), "--home", str(county.path), code=1)
    assert result.stderr.startswith("error: bundle root (serial ")
    assert f"is not the installed root {county.root_cert_path}" in result.stderr


def test_show_text_json_and_expiry_warning(tmp_path, enrolled):
    _, region, county = enrolled
    lines = run("show", "--home", str(county.path)).output.splitlines()
    assert [line.split()[0] for line in lines] == ["540102", "540000", "000000"]
    assert lines[0].split()[1] == "CA" and "issuer 540000" in lines[0]
    assert lines[0].endswith("730 days left")
    data = json.loads(run("show", "--json", "--home", str(county.path)).output)
    assert [c["division"] for c in data["chain"]] == ["540102", "540000", "000000"]
    assert data["warnings"] == []
    short = new_home(tmp_path, "540103")
    run("csr", "--home", str(short.path))
    run("issue", str(short.csr_path), "--out", str(tmp_path / "s.pem"), "--days", "10",
        "--home", str(region.path))
    run("import", str(tmp_path / "s.pem"), "--home", str(short.path))
    lines = run("show", "--home", str(short.path)).output.splitlines()
    assert lines[-1].startswith("warning: certificate 540103 (serial ")
    assert lines[-1].endswith("expires in 10 days")


def _sign_and_store(home: Home, size: int) -> bytes:
    db = sqlite3.connect(home.db_path)
    LogStore.migrate(db)
    store = LogStore(db)
    store.append("540102", store.size("540102"),
                 [f"record {i}".encode() for i in range(store.size("540102"), size)])
    signer = CheckpointSigner(keys.load_private_key(home.key_path), "540102")
    note = signer.sign(size, store.root("540102", size), None, None)
    store.add_checkpoint("540102", size, store.root("540102", size), note)
    db.commit()
    db.close()
    return note


def test_rotation_keeps_old_checkpoints_verifiable(tmp_path, enrolled):
    _, region, county = enrolled
    old_note = _sign_and_store(county, 3)
    old_cert = certs.load_cert(county.cert_path.read_bytes())
    result = run("rotate", "--home", str(county.path))
    assert "old key and certificate kept as" in result.output
    kept_keys = list(county.old_keys_dir.glob("*.key"))
    kept_certs = list(county.old_keys_dir.glob("*.crt"))
    assert len(kept_keys) == len(kept_certs) == 1
    assert stat.S_IMODE(kept_keys[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(county.key_path.stat().st_mode) == 0o600
    assert certs.load_cert(kept_certs[0].read_bytes()) == old_cert
    warned = run("show", "--home", str(county.path)).output
    assert "warning: rotation pending" in warned
    again = run("rotate", "--home", str(county.path), code=1)
    assert "a key rotation is pending" in again.stderr

    exported = run("export-checkpoint", "--out", str(tmp_path / "old-audit"),
                   "--home", str(county.path))
    assert "checkpoint size 3" in exported.output
    assert certs.load_cert((tmp_path / "old-audit" / "signer.pem").read_bytes()) == old_cert

    run("issue", str(county.csr_path), "--out", str(tmp_path / "county2.pem"),
        "--home", str(region.path))
    run("import", str(tmp_path / "county2.pem"), "--home", str(county.path))
    new_cert = certs.load_cert(county.cert_path.read_bytes())
    assert new_cert != old_cert
    assert "rotation pending" not in run("show", "--home", str(county.path)).output
    new_note = _sign_and_store(county, 5)
    assert verify_checkpoint(new_note, new_cert).size == 5
    assert verify_checkpoint(old_note, old_cert).size == 3
    with pytest.raises(Error):
        verify_checkpoint(old_note, new_cert)


def test_export_checkpoint_for_openssl(tmp_path, enrolled):
    _, _, county = enrolled
    _sign_and_store(county, 4)
    out = tmp_path / "audit"
    result = run("export-checkpoint", "--out", str(out), "--home", str(county.path))
    assert result.output.splitlines()[0] == f"exported 540102 checkpoint size 4 to {out}"
    verified = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "signer-pubkey.pem", "-signature",
         "checkpoint.sig", "checkpoint.txt"], cwd=out, capture_output=True, text=True, timeout=30)
    assert verified.stdout.strip() == "Verified OK"
    chain = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "signer.pem"],
        cwd=out, capture_output=True, text=True, timeout=30)
    assert chain.stdout.strip() == "signer.pem: OK"


def test_export_checkpoint_without_one(tmp_path, enrolled):
    _, _, county = enrolled
    db = sqlite3.connect(county.db_path)
    LogStore.migrate(db)
    db.close()
    result = run("export-checkpoint", "--out", str(tmp_path / "a"), "--home", str(county.path),
                 code=1)
    assert result.stderr == "error: no signed checkpoint of 540102 yet; nothing exported\n"


def test_national_home_from_init_root(tmp_path):
    national = new_home(tmp_path, "000000")
    result = run("init-root", "--home", str(national.path))
    assert result.output.startswith("root CA 000000 serial ")
    root = certs.load_cert(national.root_cert_path.read_bytes())
    assert certs.load_cert(national.cert_path.read_bytes()) == root
    certs.require_key_matches(keys.load_private_key(national.key_path), root)
    province = new_home(tmp_path, "540000")
    run("csr", "--home", str(province.path))
    run("issue", str(province.csr_path), "--out", str(tmp_path / "p.pem"),
        "--home", str(national.path))
    run("import", str(tmp_path / "p.pem"), "--home", str(province.path))
    county = new_home(tmp_path, "540102")
    result = run("init-root", "--home", str(county.path), code=1)
    assert result.stderr == (
        "error: init-root without --out needs the national node's home: got division 540102, "
        "want 000000\n"
    )


@pytest.mark.parametrize(
    "command", ["init-root", "csr", "issue", "import", "show", "rotate", "export-checkpoint"])
def test_every_command_has_an_example(command):
    result = run(command, "--help")
    assert "Example:" in result.output
