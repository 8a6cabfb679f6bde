"""Enrolment and the certificate lifecycle of a node home, by file.

Enrolment works by file so that it survives days without a link: the child
writes node.csr and carries it to the parent's operator, who issues a bundle
(the new certificate and the issuer chain up to the root) that the child
installs. Key rotation keeps the old key and certificate in old-keys/ so that
what they signed stays verifiable. Every operation here checks before it
writes and refuses with one pki.errors.Error; ``tongban pki`` only prints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from node.clock import now
from node.db import connect
from node.home import CertChain, Home, load_chain_file
from node.store import Draft, NodeStore
from pki import certs, division
from pki.checkpoint import verify_checkpoint
from pki.errors import InputError, VerificationError
from pki.export import ExportedCheckpoint, export_checkpoint
from pki.files import read_file, write_atomic
from pki.keys import generate_key, load_private_key, save_private_key, write_private_file
from pki.revocation import revocation_body
from pki.verify import Purpose, UntrustedRoot, verify_chain
from protos.tongban.v1 import record_pb2
from sync.log import LogStore

ROOT_DAYS = 3650
NODE_DAYS = 730
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class OfflineRoot:
    cert: x509.Certificate
    cert_path: Path
    key_path: Path


def make_offline_root(folder: Path, days: int = ROOT_DAYS) -> OfflineRoot:
    """A new root key (0600) and self-signed root.crt in ``folder``, to be kept offline."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "root.crt", folder / "root.key"
    if cert_path.exists():
        raise InputError(f"{cert_path} already exists; nothing changed")
    key = generate_key()
    root = certs.make_root(key, now(), days)
    save_private_key(key, key_path)
    write_atomic(cert_path, certs.cert_pem(root), what="root certificate")
    return OfflineRoot(root, cert_path, key_path)


def install_root(home: Home, days: int = ROOT_DAYS) -> x509.Certificate:
    """Make the root from the national node's own key: it then signs as the root itself."""
    config = home.load_config()
    if config.division != division.NATIONAL:
        raise InputError(
            f"init-root without --out needs the national node's home: got division "
            f"{config.division}, want {division.NATIONAL}"
        )
    if home.cert_path.exists():
        raise InputError(f"{home.cert_path} already exists; nothing changed")
    root = certs.make_root(load_private_key(home.key_path), now(), days)
    _install(home, CertChain(root, []))
    return root


def _install(home: Home, chain: CertChain) -> None:
    """root.crt, chain.pem, then node.crt last: node.crt present means enrolled."""
    write_atomic(home.root_cert_path, certs.cert_pem(chain.root), what="root certificate")
    write_atomic(home.chain_path, certs.certs_pem(chain.issuers), what="certificate chain")
    write_atomic(home.cert_path, certs.cert_pem(chain.cert), what="node certificate")


def write_csr(home: Home) -> Path:
    """node.csr for the node's current key, to be carried to the parent's operator."""
    config = home.load_config()
    request = certs.make_csr(load_private_key(home.key_path), config.division)
    return write_atomic(home.csr_path, certs.csr_pem(request), what="certificate request")


@dataclass(frozen=True)
class Issuer:
    chain: CertChain
    key: ec.EllipticCurvePrivateKey


def home_issuer(home: Home) -> Issuer:
    """The node of ``home`` as issuer: its node.crt, chain and node.key."""
    return Issuer(home.cert_chain(), load_private_key(home.key_path))


def file_issuer(cert_file: Path, key_file: Path, chain_file: Path | None) -> Issuer:
    """An issuer from separate files (the offline root, or a CA kept off the node)."""
    cert = certs.load_cert(read_file(cert_file, "issuer certificate"), str(cert_file))
    if chain_file is not None:
        issuers = load_chain_file(chain_file)
    elif certs.is_self_signed(cert):
        issuers = []
    else:
        raise InputError(f"issuer {certs.division_of(cert)} is not the root: "
                         "pass its chain with --chain")
    return Issuer(CertChain(cert, issuers), load_private_key(key_file))


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    #: the issuer's own certificate ends first, so this one ends before the days asked for
    cut_short: bool
    #: written to the issuing node's log as CERT_ISSUED (not by a bare CA folder)
    recorded: bool


def issue(request_file: Path, out: Path, issuer: Issuer, days: int = NODE_DAYS,
          record_in: Home | None = None) -> Issued:
    """Certify a child's request and write the bundle the child installs.

    Refuses an issuer whose own chain does not verify for issuing, and a
    division outside the issuer's subtree (pki.certs.issue). With ``record_in``
    (the issuing node's home) the certificate is also written to its log as
    CERT_ISSUED, so the subtree view lists the child before it ever syncs (a
    home with keys but no database, a bare CA folder, has no log to record in).
    The national node records too: its checkpoints verify against the root,
    which every Verifier holds as the candidate signer for 000000 (sync.trust).
    """
    request = certs.load_csr(read_file(request_file, "certificate request"), str(request_file))
    at = now()
    chain = issuer.chain
    verify_chain(chain.cert, chain.intermediates, chain.root, at, purpose=Purpose.ISSUING)
    cert = certs.issue(request, chain.cert, issuer.key, at, days)
    bundle = [cert, *chain.all()]
    verify_chain(cert, bundle[1:-1], chain.root, at)
    write_atomic(out, certs.certs_pem(bundle), what="certificate bundle")
    recorded = record_in is not None and record_in.db_path.exists()
    if record_in is not None and recorded:
        der = cert.public_bytes(Encoding.DER)
        body = record_pb2.CertIssued(certificate_der=der).SerializeToString()
        store = NodeStore.open(record_in)
        try:
            store.write([Draft(record_pb2.CERT_ISSUED, lambda _s, _h: body)])
        finally:
            store.close()
    return Issued(cert, certs.cut_short(cert, at, days), recorded)


def install(home: Home, bundle_file: Path) -> x509.Certificate:
    """Install the bundle the parent issued: for this division and key, chaining to the root.

    The root must be the one already installed, if any: a bundle cannot move a
    node to another federation.
    """
    config = home.load_config()
    bundle = certs.load_certs(read_file(bundle_file, "certificate bundle"), str(bundle_file))
    chain = CertChain(bundle[0], bundle[1:])
    got = certs.division_of(chain.cert)
    if got != config.division:
        raise InputError(f"certificate is for {got}, but this node is {config.division}")
    certs.require_key_matches(load_private_key(home.key_path), chain.cert)
    if not certs.is_self_signed(chain.root):
        raise UntrustedRoot(f"bundle {bundle_file} does not end with a self-signed root")
    if home.root_cert_path.exists():
        installed = certs.load_cert(read_file(home.root_cert_path, "root"),
                                    str(home.root_cert_path))
        if installed != chain.root:
            raise UntrustedRoot(
                f"bundle root (serial {certs.serial_hex(chain.root)}) is not the installed "
                f"root {home.root_cert_path} (serial {certs.serial_hex(installed)})"
            )
    verify_chain(chain.cert, chain.intermediates, chain.root, now())
    _install(home, chain)
    home.csr_path.unlink(missing_ok=True)
    return chain.cert


@dataclass(frozen=True)
class ChainStatus:
    """What ``pki show`` reports: each certificate of the chain, and what needs doing."""

    chain: list[dict]
    warnings: list[str]


def _describe(cert: x509.Certificate, at: datetime) -> dict:
    issuer = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return {
        "division": certs.division_of(cert),
        "serial": certs.serial_hex(cert),
        "issuer": str(issuer[0].value) if issuer else cert.issuer.rfc4514_string(),
        "ca": certs.is_ca_cert(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": (cert.not_valid_after_utc - at).days,
    }


def chain_status(home: Home) -> ChainStatus:
    """The installed chain with days left; warns of near expiry and of a pending rotation."""
    installed = home.cert_chain()
    at = now()
    chain = [_describe(c, at) for c in installed.all()]
    warnings = [
        f"certificate {c['division']} (serial {c['serial']}) expires in {c['days_left']} days"
        for c in chain if c["days_left"] < EXPIRY_WARNING_DAYS
    ]
    if home.key_path.exists():
        try:
            certs.require_key_matches(load_private_key(home.key_path), installed.cert)
        except VerificationError:
            warnings.append("rotation pending: node.key does not match node.crt; "
                            "have the parent issue node.csr, then run 'tongban pki import'")
    return ChainStatus(chain, warnings)


@dataclass(frozen=True)
class Rotation:
    kept: Path  # old-keys/<stamp>, without .key / .crt
    csr_path: Path


def rotate(home: Home) -> Rotation:
    """New node key and node.csr; the old key and certificate move to old-keys/ (0600).

    Until the new certificate is installed the store keeps signing with the
    old key (Home.signing_key), so work at the window never stops.
    """
    config = home.load_config()
    old_key = load_private_key(home.key_path)
    installed = home.cert_chain()
    certs.require_key_matches(old_key, installed.cert)
    stamp = f"{now():%Y%m%dT%H%M%SZ}-{certs.serial_hex(installed.cert)}"
    home.old_keys_dir.mkdir(mode=0o700, exist_ok=True)
    kept = home.old_keys_dir / stamp
    write_private_file(kept.with_name(f"{stamp}.key"), read_file(home.key_path, "node key"))
    write_atomic(kept.with_name(f"{stamp}.crt"), certs.cert_pem(installed.cert),
                 what="old certificate")
    new_key = generate_key()
    save_private_key(new_key, home.key_path, replace=True)
    write_atomic(home.csr_path, certs.csr_pem(certs.make_csr(new_key, config.division)),
                 what="certificate request")
    return Rotation(kept, home.csr_path)


@dataclass(frozen=True)
class CheckpointExport:
    division: str
    size: int
    files: ExportedCheckpoint


def export_latest_checkpoint(home: Home, out: Path) -> CheckpointExport:
    """The node's latest signed checkpoint as files OpenSSL alone can check.

    The signer is whichever of node.crt and the old certificates verifies it:
    a checkpoint signed before a rotation is exported with the old certificate.
    """
    config = home.load_config()
    db = connect(home.db_path)
    try:
        latest = LogStore(db).latest_checkpoint(config.division)
    finally:
        db.close()
    if latest is None:
        raise InputError(f"no signed checkpoint of {config.division} yet; nothing exported")
    installed = home.cert_chain()
    for cert in [installed.cert, *home.old_certs()]:
        try:
            verify_checkpoint(latest.note, cert)
        except VerificationError:
            continue
        files = export_checkpoint(latest.note, [cert, *installed.issuers], out)
        return CheckpointExport(config.division, latest.size, files)
    raise VerificationError(
        f"latest checkpoint of {config.division} (size {latest.size}) verifies with neither "
        "node.crt nor any certificate in old-keys/"
    )


def revoke(home: Home, serial: str, reason: str) -> tuple[int, str]:
    """Revoke a certificate this node issued, as a record in its own log.

    Returns the serial number and this node's division.
    """
    try:
        number = int(serial, 16)
    except ValueError as exc:
        raise InputError(f"bad serial {serial!r}: want the hex serial 'pki show' prints") from exc
    body = revocation_body(number, reason, now())
    store = NodeStore.open(home)
    try:
        store.write([Draft(record_pb2.CERT_REVOKED, lambda _s, _h: body)])
    finally:
        store.close()
    return number, store.division


def pending_request(home: Home, certified: x509.Certificate) -> list[bytes]:
    """node.csr when its key is not the certified one (a rotation waiting for the parent)."""
    if not home.csr_path.exists():
        return []
    pem = read_file(home.csr_path, "certificate request")
    request = certs.load_csr(pem, str(home.csr_path))
    if certs.same_public_key(request.public_key(), certified.public_key()):
        return []
    return [pem]


def keep_child_requests(home: Home, sender: str, requests: list[bytes]) -> list[Path]:
    """Keep a child's certificate requests in requests/ for the operator to ``pki issue``.

    A node may only ask for its own certificate; anything else refuses the lot.
    """
    checked = []
    for pem in requests:
        code = certs.csr_division(certs.load_csr(pem, f"certificate request from {sender}"))
        if code != sender:
            raise InputError(f"bundle from {sender} carries a certificate request for {code}: "
                             "a node may only ask for its own certificate")
        checked.append((code, pem))
    folder = home.path / "requests"
    saved = []
    for code, pem in checked:
        folder.mkdir(exist_ok=True)
        path = folder / f"{code}-{hashlib.sha256(pem).hexdigest()[:12]}.csr"
        saved.append(write_atomic(path, pem, what="certificate request"))
    return saved
