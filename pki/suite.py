"""Signature suites: the one place that knows which algorithm signs what.

Everything that signs or verifies (checkpoints, receipts, CSRs, certificates) goes
through a ``SignatureSuite`` so that deployments required to use national
cryptography can add an SM2/SM3 suite without touching the callers. Today there is
one suite, ECDSA P-256 with SHA-256 and DER signatures: DER because an auditor
must be able to check a signature with ``openssl dgst -sha256 -verify`` alone.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pki.errors import InputError, VerificationError


class SigningKey(Protocol):
    """What callers hold of a private key: a suite signs with it, a key ID names its public half.

    Typed this loosely so that an SM2 suite's keys fit without touching the callers.
    """

    def public_key(self) -> object: ...


class PublicKey(Protocol):
    """Any public key cryptography can read from a certificate or request."""

    def public_bytes(self, encoding: serialization.Encoding,
                     format: serialization.PublicFormat) -> bytes: ...


class SignatureSuite(ABC):
    """A signature algorithm plus the signed-note key ID rule that goes with it."""

    #: Human name, shown in diagnostics and benchmark output.
    name: str
    #: The signed-note signature type byte mixed into key IDs.
    note_type: int

    @abstractmethod
    def generate_key(self) -> object:
        """A fresh private key for this suite."""

    @abstractmethod
    def sign(self, private_key: object, data: bytes) -> bytes:
        """Sign ``data``; the result is what goes into notes and exported .sig files."""

    @abstractmethod
    def verify(self, public_key: object, data: bytes, signature: bytes) -> None:
        """Return quietly when ``signature`` is valid, else raise VerificationError."""

    @abstractmethod
    def public_key_bytes(self, public_key: object) -> bytes:
        """The public key encoding that key IDs commit to."""

    def key_id(self, name: str, public_key: object) -> bytes:
        """signed-note key ID: SHA-256(name || 0x0A || type || public key bytes)[:4]."""
        material = name.encode("utf-8") + b"\n" + bytes([self.note_type])
        return hashlib.sha256(material + self.public_key_bytes(public_key)).digest()[:4]


class P256Sha256(SignatureSuite):
    """ECDSA over P-256 with SHA-256; signatures DER-encoded (RFC 3279)."""

    name = "ecdsa-p256-sha256"
    note_type = 0x02

    def generate_key(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def sign(self, private_key: object, data: bytes) -> bytes:
        key = _p256_private(private_key)
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    def verify(self, public_key: object, data: bytes, signature: bytes) -> None:
        key = p256_public(public_key)
        try:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError) as exc:  # ValueError: not a DER signature
            raise VerificationError(f"{self.name} signature does not verify") from exc

    def public_key_bytes(self, public_key: object) -> bytes:
        """DER SubjectPublicKeyInfo: what `openssl pkey -pubout -outform DER` prints."""
        return p256_public(public_key).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


P256 = P256Sha256()


def suite_for(public_key: object) -> SignatureSuite:
    """The suite that verifies signatures made by this key's owner."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return P256
    raise VerificationError(
        f"unsupported public key {type(public_key).__name__}: want ECDSA P-256"
    )


def _p256_private(key: object) -> ec.EllipticCurvePrivateKey:
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise InputError(f"wrong private key type {type(key).__name__}: want ECDSA P-256")


def p256_public(key: object) -> ec.EllipticCurvePublicKey:
    """``key`` as a P-256 public key, or VerificationError: what certificates here must hold."""
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise VerificationError(f"wrong public key type {type(key).__name__}: want ECDSA P-256")
