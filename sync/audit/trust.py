"""Who signed each checkpoint and receipt, and whether their certificates held at the time.

"Valid at signing time" is judged at the earliest verified receipt by the
origin's parent or a higher ancestor (the parent's normally comes first), since
a remote county's own clock may be wrong. A checkpoint no ancestor cosigned is
judged at the audit's "now" and counted as unconfirmed. Chain checks repeat
for every checkpoint of a busy log, so they are cached per certificate and
time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from pki import division
from pki.certs import division_of, serial_hex
from pki.checkpoint import (
    Checkpoint,
    Receipt,
    parse_note,
    parse_receipt,
    signing_certificate,
    verify_receipt,
)
from pki.errors import Error, VerificationError
from pki.revocation import RevocationSet
from pki.suite import suite_for
from pki.verify import verify_chain


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: bytes
    signer: x509.Certificate


def fingerprint(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()


class Verifier:
    def __init__(self, root: x509.Certificate, pool: list[x509.Certificate],
                 now: datetime) -> None:
        self.root = root
        self.pool = [c for c in pool if c != root]
        self.now = now
        self.revocations = RevocationSet()
        self._chains: dict[tuple[bytes, datetime], list[x509.Certificate] | Error] = {}
        self._by_division: dict[str, list[x509.Certificate]] = {}
        for cert in [root, *self.pool]:
            try:
                code = division_of(cert)
            except Error:
                continue
            self._by_division.setdefault(code, []).append(cert)

    def certs_of(self, code: str) -> list[x509.Certificate]:
        return self._by_division.get(code, [])

    def chain(self, cert: x509.Certificate, at: datetime) -> list[x509.Certificate]:
        """verify_chain with the subtree rule and revocations at ``at``; cached."""
        key = (fingerprint(cert), at)
        if key not in self._chains:
            try:
                self._chains[key] = verify_chain(cert, self.pool, self.root, at, self.revocations)
            except Error as exc:
                self._chains[key] = exc
        found = self._chains[key]
        if isinstance(found, Error):
            raise found
        return found

    def signer(self, note: bytes) -> SignedCheckpoint:
        """The certificate of the checkpoint's origin whose key signed ``note``, or raise."""
        checkpoint, signatures = parse_note(note)
        candidates = self.certs_of(checkpoint.division)
        try:
            return SignedCheckpoint(checkpoint, note, signing_certificate(note, candidates))
        except VerificationError as exc:
            problem = str(exc)
        impostor = self._impostor(checkpoint, signatures)
        if impostor is not None:
            raise VerificationError(
                f"signed by the key of {division_of(impostor)} (serial {serial_hex(impostor)}), "
                f"not by a certificate of {checkpoint.division}")
        if not candidates:
            raise VerificationError(f"no certificate of {checkpoint.division} is held, so the "
                                    "signature cannot be checked")
        raise VerificationError(f"signature does not verify: {problem}")

    def _impostor(self, checkpoint: Checkpoint, signatures) -> x509.Certificate | None:
        """A held certificate of another division whose key made one of the signatures."""
        for cert in [self.root, *self.pool]:
            public = cert.public_key()
            try:
                suite = suite_for(public)
            except Error:
                continue
            key_id = suite.key_id(checkpoint.origin, public)
            for sig in signatures:
                if sig.key_id != key_id:
                    continue
                try:
                    suite.verify(public, checkpoint.body(), sig.signature)
                except Error:
                    continue
                if division_of(cert) != checkpoint.division:
                    return cert
        return None

    def receipt(self, origin: str, line: bytes, signed: list[SignedCheckpoint]
                ) -> tuple[Receipt, SignedCheckpoint]:
        """The receipt and the checkpoint it cosigns, if an ancestor of the origin made it.

        The parent cosigns what its child pushed; every higher node cosigns the
        same checkpoint again when it arrives there, recording custody at each
        level. A cosigner outside the origin's line of ancestors is a forgery.
        """
        receipt = parse_receipt(line)
        if not division.is_ancestor(receipt.cosigner, origin):
            raise VerificationError(f"receipt by {receipt.cosigner}, which is not the parent "
                                    f"or another ancestor of {origin}")
        cosigners = self.certs_of(receipt.cosigner)
        if not cosigners:
            raise VerificationError(f"no certificate of the cosigner {receipt.cosigner} is held")
        problems = []
        for checkpoint in signed:
            for cert in cosigners:
                try:
                    verify_receipt(checkpoint.note, receipt, cert)
                except Error as exc:
                    problems.append(str(exc))
                    continue
                try:
                    self.chain(cert, receipt.timestamp)
                except Error as exc:
                    problems.append(f"cosigner certificate at {receipt.timestamp.isoformat()}: "
                                    f"{exc}")
                    continue
                return receipt, checkpoint
        if not signed:
            raise VerificationError("no verified checkpoint of that size to check it against")
        raise VerificationError("forged or damaged receipt: " + "; ".join(sorted(set(problems))))
