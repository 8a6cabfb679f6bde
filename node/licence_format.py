"""How a licence is written down: number, CBOR claims, COSE_Sign1 seal, QR payload.

Licence number (after GB/T 36904, 电子证照标识): the licence-type OID arc, the
type code, the issuing body's USCC, a serial that names the issuing node and
the log sequence number of the licence record, a version and an ISO 7064
MOD 37,36 check character (python-stdnum) computed over the segments after
the arc with the dots removed::

    1.2.156.3005.2.<type code>.<body USCC>.<division><seq, 7 digits>.<version, 3 digits>.<check>

The serial makes the number federation-unique and tells every verifier which
node alone may issue, change or revoke it.

Claims are one CBOR map with small integer keys (so the QR stays small),
sealed as a COSE_Sign1 (RFC 9052 §4.2, tag 18) with ES256: protected header
{1: -7, 4: kid}, kid = the first 8 bytes of SHA-256 of the seal certificate
DER, as the EU Digital COVID Certificate does. The signature is over the
RFC 9052 Sig_structure ["Signature1", protected, h'', payload]; its 64-byte
r‖s form converts to DER for ``openssl dgst`` (see `licence export --openssl`).
COSE_Sign1 is encoded here with cbor2 and cryptography rather than pycose:
pycose's last release is from 2023 and it cannot decode messages with
cbor2 6 (which returns arrays as tuples). The signature is checked by the
real openssl binary in the tests.

QR payload: "TB1:" + base45(zlib(COSE_Sign1)), the DCC layout (RFC 9285
base45 fits the QR alphanumeric mode).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding
from stdnum.iso7064 import mod_37_36

from pki.errors import MalformedError
from pki.suite import P256

LICENCE_ARC = "1.2.156.3005.2"
QR_PREFIX = "TB1:"
COSE_SIGN1_TAG = 18
ES256 = -7
_ALG, _KID = 1, 4
_SIGNATURE_BYTES = 64
#: Largest accepted decompressed COSE payload: a licence is a few hundred bytes.
_MAX_SEALED = 16 * 1024


@dataclass(frozen=True)
class Claims:
    """The data elements of a licence (GB/T 36903 core metadata, as far as we use them)."""

    licence_id: str
    type_code: str
    type_name: str
    holder_id: str
    holder_name: str
    body_name: str
    body_uscc: str
    issue_date: str   # ISO date
    valid_from: str   # ISO date
    valid_to: str     # ISO date, or "" for 长期 (no end)
    case_no: str
    matter_code: str
    node: str         # issuing node's division
    seq: int          # the licence record's sequence number in the node's log


_KEYS = {name: index for index, name in enumerate(Claims.__dataclass_fields__, start=1)}


def licence_number(type_code: str, body_uscc: str, node: str, seq: int, version: int = 1) -> str:
    serial = f"{node}{seq:07d}"
    body = f"{type_code}{body_uscc}{serial}{version:03d}"
    check = mod_37_36.calc_check_digit(body.upper())
    return f"{LICENCE_ARC}.{type_code}.{body_uscc}.{serial}.{version:03d}.{check}"


def issuing_node(licence_id: str) -> str:
    """The node that issued ``licence_id`` (the division in its serial); checks the number."""
    parts = licence_id.split(".")
    arc = LICENCE_ARC.split(".")
    if parts[: len(arc)] != arc or len(parts) != len(arc) + 5:
        raise MalformedError("licence number", f"{licence_id!r}: want {LICENCE_ARC}.<type>."
                             "<USCC>.<serial>.<version>.<check>")
    type_code, uscc, serial, version, check = parts[len(arc):]
    body = f"{type_code}{uscc}{serial}{version}".upper()
    if not mod_37_36.is_valid(body + check):
        raise MalformedError("licence number", f"{licence_id}: check character {check!r} is "
                             f"wrong (want {mod_37_36.calc_check_digit(body)})")
    if len(serial) < 13 or not serial.isdigit():
        raise MalformedError("licence number", f"{licence_id}: serial {serial!r} must be a "
                             "division code and a 7-digit sequence number")
    return serial[:6]


def encode_claims(claims: Claims) -> bytes:
    return cbor2.dumps({_KEYS[k]: v for k, v in asdict(claims).items()}, canonical=True)


def decode_claims(payload: bytes) -> Claims:
    try:
        raw = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise MalformedError("licence claims", f"not CBOR ({exc})") from exc
    if not isinstance(raw, Mapping) or set(raw) != set(_KEYS.values()):
        raise MalformedError("licence claims", "want a map with exactly the keys 1.."
                             f"{len(_KEYS)}")
    values = {name: raw[index] for name, index in _KEYS.items()}
    for name, value in values.items():
        want = int if name == "seq" else str
        if not isinstance(value, want) or isinstance(value, bool):
            raise MalformedError("licence claims", f"{name} must be {want.__name__}")
    return Claims(**values)


def seal_kid(seal_cert: x509.Certificate) -> bytes:
    return hashlib.sha256(seal_cert.public_bytes(Encoding.DER)).digest()[:8]


def _protected(kid: bytes) -> bytes:
    return cbor2.dumps({_ALG: ES256, _KID: kid}, canonical=True)


def to_be_signed(protected: bytes, payload: bytes) -> bytes:
    """RFC 9052 Sig_structure for COSE_Sign1: the exact bytes the seal signs."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def seal(claims: Claims, seal_key: ec.EllipticCurvePrivateKey,
         seal_cert: x509.Certificate) -> bytes:
    """The tagged COSE_Sign1 of ``claims`` under the body's seal key."""
    protected = _protected(seal_kid(seal_cert))
    payload = encode_claims(claims)
    r, s = decode_dss_signature(P256.sign(seal_key, to_be_signed(protected, payload)))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


@dataclass(frozen=True)
class Sealed:
    """A parsed COSE_Sign1; nothing verified yet."""

    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes  # r‖s

    @property
    def tbs(self) -> bytes:
        return to_be_signed(self.protected, self.payload)

    @property
    def der_signature(self) -> bytes:
        half = _SIGNATURE_BYTES // 2
        return encode_dss_signature(int.from_bytes(self.signature[:half], "big"),
                                    int.from_bytes(self.signature[half:], "big"))

    def claims(self) -> Claims:
        return decode_claims(self.payload)


def parse_sealed(data: bytes) -> Sealed:
    try:
        obj = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise MalformedError("sealed licence", f"not CBOR ({exc})") from exc
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise MalformedError("sealed licence", f"CBOR tag {obj.tag}, want 18 (COSE_Sign1)")
        obj = obj.value
    if not (isinstance(obj, list | tuple) and len(obj) == 4 and isinstance(obj[0], bytes)
            and isinstance(obj[2], bytes) and isinstance(obj[3], bytes)):
        raise MalformedError("sealed licence", "want COSE_Sign1 [protected, unprotected, "
                             "payload, signature]")
    protected, _, payload, signature = obj
    try:
        header = cbor2.loads(protected)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise MalformedError("sealed licence", "protected header is not CBOR") from exc
    if not isinstance(header, Mapping) or header.get(_ALG) != ES256 \
            or not isinstance(header.get(_KID), bytes):
        raise MalformedError("sealed licence", "protected header must name ES256 and a kid")
    if len(signature) != _SIGNATURE_BYTES:
        raise MalformedError("sealed licence", f"signature of {len(signature)} bytes, want 64")
    return Sealed(protected, header[_KID], payload, signature)


def qr_text(sealed: bytes) -> str:
    return QR_PREFIX + base45.b45encode(zlib.compress(sealed, 9)).decode("ascii")


def from_qr_text(text: str) -> bytes:
    text = text.strip()
    if not text.startswith(QR_PREFIX):
        raise MalformedError("licence QR payload", f"want it to start with {QR_PREFIX}")
    try:
        packed = base45.b45decode(text[len(QR_PREFIX):])
        decompressor = zlib.decompressobj()
        data = decompressor.decompress(packed, _MAX_SEALED)
    except (ValueError, zlib.error) as exc:
        raise MalformedError("licence QR payload", f"not base45 of zlib data ({exc})") from exc
    if decompressor.unconsumed_tail:
        raise MalformedError("licence QR payload", f"larger than {_MAX_SEALED} bytes")
    return data


def qr_png(text: str, path: str) -> dict:
    """Write the QR image; returns its version, error correction and module count."""
    import segno  # only the command that draws a QR pays for segno (and its urllib, xml)

    code = segno.make(text, error="m", micro=False)
    code.save(path, kind="png", scale=8, border=4)
    return {"version": code.version, "error": code.error, "modules": code.symbol_size(
        scale=1, border=0)[0]}
