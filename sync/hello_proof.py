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

from pki.errors import VerificationError
from pki.suite import suite_for

CONTEXT = b"tongban/hello-answer/v1\n"
NONCE_BYTES = 32


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def _signed_bytes(nonce: bytes, caller: str, leaf_der: bytes) -> bytes:
    return CONTEXT + nonce + caller.encode() + b"\n" + hashlib.sha256(leaf_der).digest()


def sign(private_key: object, public_key: object, nonce: bytes, caller: str,
         leaf_der: bytes) -> bytes:
    """The answer's signature; empty for a caller that sent no nonce of the right size
    (an older child, which checks nothing either)."""
    if len(nonce) != NONCE_BYTES:
        return b""
    return suite_for(public_key).sign(private_key, _signed_bytes(nonce, caller, leaf_der))


def check(leaf: x509.Certificate, leaf_der: bytes, nonce: bytes, caller: str,
          signature: bytes) -> None:
    """Return quietly when ``signature`` is the holder of ``leaf``'s key answering
    ``nonce`` for ``caller``; else VerificationError naming what is wrong."""
    if not signature:
        raise VerificationError(
            "the server's Hello answer is not signed: it is not a tongban node of this "
            "version, or not the node its certificate chain names")
    try:
        suite_for(leaf.public_key()).verify(leaf.public_key(),
                                            _signed_bytes(nonce, caller, leaf_der), signature)
    except VerificationError as exc:
        raise VerificationError(
            "the server's Hello answer is not signed by the key of the certificate it "
            "presents: it is not the node it claims to be") from exc
