"""The one verifier: who signed a checkpoint or receipt, and whether their certificates held.

Used alike by the receiver (every batch, delivery, bundle and peer chain) and
by the auditor. As in sigstore-python, everything trusted is passed in
explicitly: the root and the revocations known at construction, the
certificates on hand (a batch's, a bundle's, a database's), and the time to
judge at with every check. Each method returns the verified object or raises
VerificationError; nothing is judged against a hidden clock.

The receiver judges at its own "now". The auditor judges "valid at signing
time" at the earliest verified receipt by the origin's parent or a higher
ancestor (the parent's normally comes first), since a remote county's own
clock may be wrong, and a checkpoint no ancestor cosigned at the audit's "now"
(counted as unconfirmed). Chain checks repeat for every checkpoint of a busy
log, so they are cached per certificate, time and purpose: a Verifier lives as
long as its inputs (one per batch at the receiver, one per run in the audit;
revocations are added before the first check).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from pki import division
from pki.certs import division_of, serial_hex
from pki.checkpoint import (
    Checkpoint,
    Receipt,
    origin_for,
    parse_note,
    parse_receipt,
    signing_certificate,
    verify_receipt,
)
from pki.errors import Error, VerificationError
from pki.revocation import RevocationSet
from pki.suite import suite_for
from pki.verify import Purpose, verify_chain


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: bytes
    signer: x509.Certificate


def fingerprint(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()


class Verifier:
    def __init__(self, root: x509.Certificate, revocations: RevocationSet,
                 pool: Iterable[x509.Certificate] = ()) -> None:
        self.root = root
        self.pool = [c for c in pool if c != root]
        self.revocations = revocations
        self._chains: dict[tuple[bytes, datetime, Purpose], list[x509.Certificate] | Error] = {}
        self._by_division: dict[str, list[x509.Certificate]] = {}
        for cert in [root, *self.pool]:
            try:
                code = division_of(cert)
            except Error:
                continue
            self._by_division.setdefault(code, []).append(cert)

    def certs_of(self, code: str) -> list[x509.Certificate]:
        return self._by_division.get(code, [])

    def chain(self, cert: x509.Certificate, at: datetime,
              purpose: Purpose = Purpose.SIGNING) -> list[x509.Certificate]:
        """The verified chain leaf → root at ``at`` (subtree rule, revocations), or raise."""
        key = (fingerprint(cert), at, purpose)
        if key not in self._chains:
            try:
                self._chains[key] = verify_chain(cert, self.pool, self.root, at,
                                                 self.revocations, purpose)
            except Error as exc:
                self._chains[key] = exc
        found = self._chains[key]
        if isinstance(found, Error):
            raise found
        return found

    def checkpoint(self, note: bytes, origin: str, at: datetime
                   ) -> tuple[SignedCheckpoint, list[x509.Certificate]]:
        """A checkpoint of ``origin`` and its signer's chain at ``at``, or raise.

        The signer may hold several certificates (key rotation): the one whose
        key signed the note is the one that must chain to the root.
        """
        checkpoint, _ = parse_note(note)
        if checkpoint.origin != origin_for(origin):
            raise VerificationError(
                f"checkpoint names {checkpoint.origin}, but the batch is for {origin_for(origin)}")
        if not any(c in self.pool for c in self.certs_of(origin)):
            raise VerificationError(f"no certificate for {origin} came with its checkpoint")
        signed = self.signer(note)
        return signed, self.chain(signed.signer, at)

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
