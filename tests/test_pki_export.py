"""An auditor with nothing but /usr/bin/openssl can check an exported checkpoint."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from pki_fixtures import enrol, federation

from pki import checkpoint as cp
from pki.certs import cert_pem
from pki.errors import InputError, VerificationError
from pki.export import export_checkpoint

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
pytestmark = pytest.mark.skipif(not Path(OPENSSL).exists(), reason="needs the openssl binary")

ROOT = hashlib.sha256(b"log").digest()


def openssl(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=30)


def check_both(out: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    chain = openssl(out, "verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "signer.pem")
    sig = openssl(out, "dgst", "-sha256", "-verify", "signer-pubkey.pem",
                  "-signature", "checkpoint.sig", "checkpoint.txt")
    return chain, sig


def test_three_level_chain_checks_with_openssl_alone(tmp_path):
    fed = federation()
    note = cp.sign_checkpoint(cp.Checkpoint("tongban/540102", 42, ROOT), fed.county.key)
    files = export_checkpoint(note, fed.county_chain(), tmp_path / "audit")
    assert sorted(p.name for p in files.directory.iterdir()) == [
        "chain.pem", "checkpoint.sig", "checkpoint.txt", "root.pem", "signer-pubkey.pem",
        "signer.pem"]
    assert files.checkpoint.read_bytes() == note.split(b"\n\n")[0] + b"\n"
    chain, sig = check_both(files.directory)
    assert (chain.returncode, chain.stdout.strip()) == (0, "signer.pem: OK")
    assert (sig.returncode, sig.stdout.strip()) == (0, "Verified OK")


def test_openssl_refuses_a_tampered_export(tmp_path):
    fed = federation()
    note = cp.sign_checkpoint(cp.Checkpoint("tongban/540102", 42, ROOT), fed.county.key)
    files = export_checkpoint(note, fed.county_chain(), tmp_path)
    files.checkpoint.write_bytes(files.checkpoint.read_bytes().replace(b"\n42\n", b"\n43\n"))
    stranger = enrol("650000", fed.root)
    files.chain.write_bytes(cert_pem(stranger.cert))
    chain, sig = check_both(tmp_path)
    assert chain.returncode != 0
    assert "unable to get local issuer certificate" in chain.stdout + chain.stderr
    assert sig.returncode == 1 and "Verification failure" in sig.stdout + sig.stderr


@pytest.mark.parametrize("signer", ["region", "root"])
def test_no_intermediates_still_checks(tmp_path, signer):
    fed = federation()
    node = fed.region if signer == "region" else fed.root
    code = "540000" if signer == "region" else "000000"
    chain = [fed.region.cert, fed.root.cert] if signer == "region" else [fed.root.cert]
    note = cp.sign_checkpoint(cp.Checkpoint(f"tongban/{code}", 1, ROOT), node.key)
    files = export_checkpoint(note, chain, tmp_path)
    checked, sig = check_both(files.directory)
    assert checked.returncode == 0, checked.stderr
    assert sig.stdout.strip() == "Verified OK"


def test_export_refuses_what_would_not_verify(tmp_path):
    fed = federation()
    note = cp.sign_checkpoint(cp.Checkpoint("tongban/540102", 1, ROOT), fed.county.key)
    with pytest.raises(VerificationError, match="does not match certificate division 540000"):
        export_checkpoint(note, [fed.region.cert, fed.root.cert], tmp_path / "a")
    with pytest.raises(InputError, match="ending at the self-signed root"):
        export_checkpoint(note, [fed.county.cert, fed.region.cert], tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
