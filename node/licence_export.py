"""Writing a licence out (file, QR image and text, OpenSSL check files) and describing a verdict.

The OpenSSL folder lets an auditor check the seal with nothing of ours::

    openssl verify -CAfile root.pem -untrusted chain.pem seal.pem
    openssl dgst -sha256 -verify seal-pubkey.pem -signature licence.sig licence.tbs

licence.tbs is the exact COSE Sig_structure the seal signed (it contains the
CBOR claims); licence.sig the same signature in DER. chain.pem holds the
issuing node's certificate and its issuers below the root.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509

from node import licences
from node.licence_format import parse_sealed, qr_png, qr_text
from node.licence_verify import Verdict
from node.store import NodeStore
from node.workdays import CHINA_TZ
from pki.certs import cert_pem, certs_pem, load_cert
from pki.errors import EnvironmentProblem
from pki.keys import public_key_pem
from pki.suite import p256_public
from protos.tongban.v1 import record_pb2
from sync.records import parse_record, show_ms

PERSONAL_FILE_MODE = 0o600


def _write(path: Path, data: bytes) -> None:
    """Licences carry personal data: files are created 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PERSONAL_FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror}") from exc


def _record(store: NodeStore, licence_id: str) -> record_pb2.Licence:
    item = licences.show(store.db, licence_id)
    record = parse_record(store.log.record(item["origin"], item["seq"]))
    return record_pb2.Licence.FromString(record.body)


def export(store: NodeStore, licence_id: str, out: Path | None, png: Path | None,
           text: bool, openssl_dir: Path | None) -> list[str]:
    """Write what was asked for; returns one line per thing written."""
    body = _record(store, licence_id)
    lines = []
    if out:
        data = licences.export(store, licence_id)
        _write(out, data)
        lines.append(f"wrote {out} ({len(data):,} bytes): verify with "
                     f"tongban licence verify {out} --root root.pem")
    payload = qr_text(body.sealed)
    if png:
        info = qr_png(payload, str(png))
        os.chmod(png, PERSONAL_FILE_MODE)
        lines.append(f"wrote {png}: QR version {info['version']}-{info['error']}, "
                     f"{info['modules']}x{info['modules']} modules, {len(payload)} characters")
    if text:
        lines.append(payload)
    if openssl_dir:
        lines.append(_openssl_files(store, body, openssl_dir))
    return lines


def _openssl_files(store: NodeStore, body: record_pb2.Licence, out: Path) -> str:
    seal = x509.load_der_x509_certificate(body.seal_certificate_der)
    sealed = parse_sealed(body.sealed)
    root = load_cert(store.home.root_cert_path.read_bytes(), str(store.home.root_cert_path))
    chain = [c for c in licences.node_chain(store, sealed.claims().node) if c != root]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create {out}: {exc.strerror}") from exc
    for name, data in {"seal.pem": cert_pem(seal), "chain.pem": certs_pem(chain or [root]),
                       "root.pem": cert_pem(root),
                       "seal-pubkey.pem": public_key_pem(p256_public(seal.public_key())),
                       "licence.tbs": sealed.tbs, "licence.sig": sealed.der_signature}.items():
        _write(out / name, data)
    return (f"wrote {out}: openssl verify -CAfile root.pem -untrusted chain.pem seal.pem; "
            "openssl dgst -sha256 -verify seal-pubkey.pem -signature licence.sig licence.tbs")


def describe(verdict: Verdict) -> dict:
    """The verdict as a person reads it, and as --json prints it."""
    c = verdict.claims
    as_of = verdict.status_as_of_ms
    return {
        "licence": c.licence_id,
        "status": verdict.status,
        "status_detail": verdict.detail,
        "status_as_of": _local_time(as_of) if as_of else "-",
        "status_source": verdict.status_source,
        "type": f"{c.type_name} ({c.type_code})",
        "holder": f"{c.holder_name} {c.holder_id}",
        "issuer": f"{c.body_name} ({c.body_uscc}), node {c.node}",
        "validity": f"{c.valid_from} to {c.valid_to or '长期'}",
        "case": f"{c.case_no} ({c.matter_code})",
        "checked_by": verdict.checked_by,
        "in_log": verdict.in_log or "-",
    }


def _local_time(ms: int) -> str:
    return show_ms(ms, CHINA_TZ)
