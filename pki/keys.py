"""Node private keys on disk: ECDSA P-256 in unencrypted PKCS#8 PEM, mode 0600.

Unencrypted because a node signs checkpoints unattended; the protection is the
file mode, which is set when the file is created and never widened. A key file is
written under a temporary name and hard-linked into place, so a crash never
leaves a half-written key and an existing key is never overwritten: losing a node
key means re-enrolment with the parent.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pki.errors import EnvironmentProblem, InputError, MalformedError
from pki.suite import P256

KEY_MODE = 0o600


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
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create {tmp}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, target)
            return target
        try:
            os.link(tmp, target)
        except FileExistsError as exc:
            raise InputError(f"refusing to overwrite existing key file {target}") from exc
        except OSError as exc:
            raise EnvironmentProblem(f"cannot create {target}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


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
