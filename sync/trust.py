"""What a receiver trusts: one root, the known revocations, and its own clock.

All three are passed in explicitly (sigstore style) so that tests, the audit
and a live node check signatures the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from pki.certs import division_of
from pki.checkpoint import Checkpoint, origin_for, parse_note, signing_certificate
from pki.errors import VerificationError
from pki.revocation import RevocationSet
from pki.verify import Purpose, verify_chain


@dataclass
class Trust:
    root: x509.Certificate
    revocations: Callable[[], RevocationSet]
    clock: Callable[[], datetime]

    def verify_certificate(self, cert: x509.Certificate, pool: list[x509.Certificate],
                           purpose: Purpose = Purpose.SIGNING) -> list[x509.Certificate]:
        """The verified chain leaf → root (subtree rule, revocation, validity at now)."""
        return verify_chain(cert, pool, self.root, self.clock(), self.revocations(), purpose)

    def verify_checkpoint(self, note: bytes, origin: str, pool: list[x509.Certificate]
                          ) -> tuple[Checkpoint, list[x509.Certificate]]:
        """The checkpoint and the signer's verified chain, or VerificationError.

        The signer may hold several certificates (key rotation): the one whose
        key signed the note is the one that must chain to the root.
        """
        checkpoint, _ = parse_note(note)
        if checkpoint.origin != origin_for(origin):
            raise VerificationError(
                f"checkpoint names {checkpoint.origin}, but the batch is for {origin_for(origin)}"
            )
        # The national node signs with the root itself, which batches never carry.
        candidates = [c for c in [*pool, self.root] if division_of(c) == origin]
        if not candidates:
            raise VerificationError(f"no certificate for {origin} came with its checkpoint")
        return checkpoint, self.verify_certificate(signing_certificate(note, candidates), pool)
