"""The server's proof, in its Hello answer, that it holds the key of the chain it presents.

grpc's Python client cannot see the server's TLS certificate, and TLS checks only
that it chains to the root and bears the expected name; node certificates carry no
name constraints, so another subtree's CA can issue one for that name. The chain in
a Hello answer is then only data: any such server could replay the parent's public
chain. So the caller sends a fresh nonce, and the server signs it with its node key,
bound to the caller and to the leaf certificate it presents; the caller checks the
signature against that leaf before it pushes or pulls anything. A server without the
parent's key cannot answer, and one relaying to the real parent gets a signature that
names the relay, the caller the parent's TLS stack saw, not the child.

Signed bytes: ``CONTEXT || nonce || caller division || 0x0A || SHA-256(leaf DER)``.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pki.errors import VerificationError
from pki.suite import suite_for

CONTEXT = b"tongban/hello-answer/v1\n"
NONCE_BYTES = 32


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def _signed_bytes(nonce: bytes, caller: str, leaf_der: bytes) -> bytes:
    return CONTEXT + nonce + caller.encode() + b"\n" + hashlib.sha256(leaf_der).digest()


def sign(private_key: ec.EllipticCurvePrivateKey, nonce: bytes, caller: str,
         leaf_der: bytes) -> bytes:
    """The answer's signature; empty for a caller that sent no nonce of the right size
    (an older child, which checks nothing either)."""
    if len(nonce) != NONCE_BYTES:
        return b""
    suite = suite_for(private_key.public_key())
    return suite.sign(private_key, _signed_bytes(nonce, caller, leaf_der))


def key_matches(private_key: ec.EllipticCurvePrivateKey, leaf: x509.Certificate) -> bool:
    """Whether ``leaf`` is the certificate of ``private_key`` (what the answer will show)."""
    public = private_key.public_key()
    suite = suite_for(public)
    return suite.public_key_bytes(public) == suite.public_key_bytes(leaf.public_key())


def check(leaf: x509.Certificate, leaf_der: bytes, nonce: bytes, caller: str,
          signature: bytes) -> None:
    """Return quietly when ``signature`` is the holder of ``leaf``'s key answering
    ``nonce`` for ``caller``; else VerificationError naming what is wrong."""
    if not signature:
        raise VerificationError(
            "the server's Hello answer is not signed: upgrade that node to this tongban "
            "version (parents before their children), or check that parent_address in "
            "tongban.toml points at the parent")
    try:
        suite_for(leaf.public_key()).verify(leaf.public_key(),
                                            _signed_bytes(nonce, caller, leaf_der), signature)
    except VerificationError as exc:
        raise VerificationError(
            "the server's Hello answer is not signed by the key of the certificate it "
            "presents: it is not the node it claims to be; nothing was sent to it. Check "
            "parent_address in tongban.toml and tell the parent's operator") from exc
