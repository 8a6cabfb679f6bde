"""Node private keys on disk: ECDSA P-256 in unencrypted PKCS#8 PEM, mode 0600.

Unencrypted because a node signs checkpoints unattended; the protection is the
file mode, which is set when the file is created and never widened. A key file is
written with pki.files.write_atomic and hard-linked into place, so a crash never
leaves a half-written key and an existing key is never overwritten: losing a node
key means re-enrolment with the parent.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pki.errors import EnvironmentProblem, MalformedError
from pki.files import PRIVATE_MODE, write_atomic
from pki.suite import P256

KEY_MODE = PRIVATE_MODE


def generate_key() -> ec.EllipticCurvePrivateKey:
    """A fresh node key in the default suite."""
    return P256.generate_key()


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_private_file(path: str | os.PathLike, data: bytes, replace: bool = False) -> Path:
    """Create ``path`` holding ``data`` with mode 0600; refuse if it exists unless ``replace``.

    Replacing is for key rotation only, after the old key has been copied away.
    """
    return write_atomic(path, data, mode=KEY_MODE, replace=replace, what="key file")


def save_private_key(
    key: ec.EllipticCurvePrivateKey, path: str | os.PathLike, replace: bool = False
) -> Path:
    return write_private_file(path, private_key_pem(key), replace)


def load_private_key(path: str | os.PathLike) -> ec.EllipticCurvePrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read private key {path}: {exc.strerror}") from exc
    return parse_private_key(data, f"private key {path}")


def parse_private_key(data: bytes, what: str = "private key") -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise MalformedError(what, "it is encrypted; want an unencrypted PKCS#8 key") from exc
    except ValueError as exc:
        raise MalformedError(what, f"not a PEM private key ({exc})") from exc
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)):
        raise MalformedError(what, f"got a {type(key).__name__}, want an ECDSA P-256 key")
    return key
