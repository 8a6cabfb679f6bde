"""Export a checkpoint so that an auditor can check it with plain OpenSSL.

The directory holds exactly what two OpenSSL commands need and nothing of ours::

    openssl verify -CAfile root.pem -untrusted chain.pem signer.pem
    openssl dgst -sha256 -verify signer-pubkey.pem -signature checkpoint.sig checkpoint.txt

checkpoint.txt is the exact signed body (the note without its signature lines);
checkpoint.sig is the origin's DER signature without the signed-note key ID.
chain.pem holds the intermediates; when there are none (a province, or the
national node itself) it holds the root, because ``openssl verify`` refuses an
empty -untrusted file and a root among the untrusted certificates is harmless.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from pki.certs import cert_pem, certs_pem, is_self_signed
from pki.checkpoint import checkpoint_signature, parse_note
from pki.errors import EnvironmentProblem, InputError
from pki.keys import public_key_pem
from pki.suite import p256_public


@dataclass(frozen=True)
class ExportedCheckpoint:
    directory: Path
    checkpoint: Path
    signature: Path
    signer: Path
    chain: Path
    root: Path
    signer_pubkey: Path


def export_checkpoint(
    note: bytes, cert_chain: list[x509.Certificate], out_dir: str | os.PathLike
) -> ExportedCheckpoint:
    """Write the audit files for ``note``; ``cert_chain`` is signer, intermediates…, root.

    The note is verified against the signer first, so a directory that exists is
    one whose OpenSSL check can pass.
    """
    if not cert_chain or not is_self_signed(cert_chain[-1]):
        raise InputError(
            f"export needs the signer's chain ending at the self-signed root "
            f"(got {len(cert_chain)} certificates, the last not self-signed)"
        )
    signer, intermediates, root = cert_chain[0], cert_chain[1:-1], cert_chain[-1]
    signature = checkpoint_signature(note, signer)
    checkpoint, _ = parse_note(note)
    out = Path(out_dir)
    files = ExportedCheckpoint(
        directory=out,
        checkpoint=out / "checkpoint.txt",
        signature=out / "checkpoint.sig",
        signer=out / "signer.pem",
        chain=out / "chain.pem",
        root=out / "root.pem",
        signer_pubkey=out / "signer-pubkey.pem",
    )
    contents = {
        files.checkpoint: checkpoint.body(),
        files.signature: signature,
        files.signer: cert_pem(signer),
        files.chain: certs_pem(intermediates or [root]),
        files.root: cert_pem(root),
        files.signer_pubkey: public_key_pem(p256_public(signer.public_key())),
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, data in contents.items():
            path.write_bytes(data)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write export to {out}: {exc.strerror}") from exc
    return files
