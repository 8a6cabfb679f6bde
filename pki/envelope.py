"""A file encrypted to one node's certificate key and signed by its sender (bundle format 2).

Bundles carry citizens' names and ID numbers on a USB stick, so the contents
are readable only with the recipient's private key, while anyone holding the
root can still check who sent the file: the sender's ECDSA signature covers the
header and the ciphertext, exactly as stored. Layout (integers big-endian)::

    magic          8   b"TBBUNDLE"
    version        1   2 (version 1 was a gzipped, signed Bundle, never with this magic)
    suite          1   1 = HPKE DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM,
                       64 KiB AES-256-GCM segments, ECDSA P-256 SHA-256 signature
    sender         6   division code (ASCII digits)
    recipient      6   division code
    recipient_fp  32   SHA-256 of the recipient certificate's DER
    created_ms     8
    content_size   8   bytes of deflated content (the sum of the segment plaintexts)
    unpacked_size  8   bytes once inflated; refused above the caller's limit unread
    chain_count    1   then per certificate: length (2) + DER: the sender's chain
    wrapped_len    2   then HPKE enc (65) || sealed file key (32 + 16 tag)
    segments           ceil(content_size / 64 KiB) (at least one), each plaintext + 16 tag
    signature_len  2   then the DER ECDSA signature over every byte before signature_len

The 32-byte file key is random per file and wrapped with single-shot HPKE
(RFC 9180, base mode) whose ``info`` is "tongban bundle v2 " + SHA-256 of the
header up to the wrapped key: a changed header field unwraps nothing. Segment i
is AES-256-GCM under the file key with nonce = i (11 bytes) || final flag (1
byte, 1 on the last segment) (the STREAM construction): a truncated, extended or
reordered file fails authentication. Reading never holds more than one segment
of plaintext besides the inflated output, which stops at ``unpacked_size``.

Only pyca/cryptography primitives are used (HPKE, AESGCM, ECDSA, SHA-256).
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.serialization import Encoding

from pki import division
from pki.errors import InputError, MalformedError, VerificationError
from pki.suite import P256, p256_public

MAGIC = b"TBBUNDLE"
VERSION = 2
SUITE_HPKE_P256_AES256GCM = 1
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
KEY_BYTES = 32
#: HPKE enc (an uncompressed P-256 point) plus the sealed file key
WRAPPED_BYTES = 65 + KEY_BYTES + TAG_BYTES
#: a sender chain is at most six certificates (sync/requests.py), each a few hundred bytes
MAX_CHAIN_CERTS = 6
#: DER ECDSA P-256 signatures are at most 72 bytes
MAX_SIGNATURE_BYTES = 80
_GZIP_MAGIC = b"\x1f\x8b"
_FIXED = struct.Struct(">8sBB6s6s32sQQQB")
_U16 = struct.Struct(">H")
_HPKE = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_INFO_PREFIX = b"tongban bundle v2 "
#: what one inflate step may produce from one segment
_INFLATE_STEP = 1 << 20


def fingerprint(cert: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER: names the key a file was encrypted to."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()


def require_key_agreement(cert: x509.Certificate, name: str) -> None:
    """Refuse to encrypt to a certificate whose keyUsage forbids key agreement (RFC 5280)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.key_agreement:
        raise VerificationError(
            f"the certificate of {name} does not allow key agreement, so a bundle cannot be "
            "encrypted to it: it was issued before bundles were encrypted; renew it (tongban "
            "pki rotate at that node, pki issue at its parent) and sync or export again")


@dataclass(frozen=True)
class Envelope:
    """A parsed file: header fields, and where the parts lie in the stored bytes."""

    sender: str
    recipient: str
    recipient_fp: bytes
    created_ms: int
    content_size: int
    unpacked_size: int
    chain_der: tuple[bytes, ...]
    wrapped: bytes
    info: bytes
    blob: bytes
    segments_at: int
    signed_end: int
    signature: bytes

    def signed_bytes(self) -> memoryview:
        """Every stored byte the sender's signature covers (never re-serialised)."""
        return memoryview(self.blob)[:self.signed_end]


def is_envelope(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _segment_count(content_size: int) -> int:
    return max(1, -(-content_size // SEGMENT_BYTES))


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def _info(bound_header: bytes) -> bytes:
    return _INFO_PREFIX + hashlib.sha256(bound_header).digest()


def seal(content: bytes, *, sender: str, recipient: str, recipient_cert: x509.Certificate,
         chain: list[x509.Certificate], signing_key: ec.EllipticCurvePrivateKey,
         created_ms: int) -> bytes:
    """``content`` deflated, encrypted to ``recipient_cert``'s key, signed with ``signing_key``."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    return seal_deflated(deflater.compress(content) + deflater.flush(), len(content),
                         sender=sender, recipient=recipient, recipient_cert=recipient_cert,
                         chain=chain, signing_key=signing_key, created_ms=created_ms)


def seal_deflated(packed: bytes, unpacked_size: int, *, sender: str, recipient: str,
                  recipient_cert: x509.Certificate, chain: list[x509.Certificate],
                  signing_key: ec.EllipticCurvePrivateKey, created_ms: int) -> bytes:
    """``seal`` of content already deflated to ``packed``, declaring ``unpacked_size``
    (the fuzz tests and bench/bench_hostile.py make files that lie about it)."""
    require_key_agreement(recipient_cert, recipient)
    chain_der = [c.public_bytes(Encoding.DER) for c in chain]
    if len(chain_der) > MAX_CHAIN_CERTS:
        raise InputError(f"sender chain of {len(chain_der)} certificates, at most "
                         f"{MAX_CHAIN_CERTS} fit a bundle")
    bound = _FIXED.pack(MAGIC, VERSION, SUITE_HPKE_P256_AES256GCM, sender.encode("ascii"),
                        recipient.encode("ascii"), fingerprint(recipient_cert), created_ms,
                        len(packed), unpacked_size, len(chain_der))
    bound += b"".join(_U16.pack(len(d)) + d for d in chain_der)
    file_key = os.urandom(KEY_BYTES)
    wrapped = _HPKE.encrypt(file_key, p256_public(recipient_cert.public_key()),
                            info=_info(bound))
    parts = [bound, _U16.pack(len(wrapped)), wrapped]
    aead = AESGCM(file_key)
    count = _segment_count(len(packed))
    for i in range(count):
        piece = packed[i * SEGMENT_BYTES:(i + 1) * SEGMENT_BYTES]
        parts.append(aead.encrypt(_nonce(i, i == count - 1), piece, None))
    signed = b"".join(parts)
    signature = P256.sign(signing_key, signed)
    return signed + _U16.pack(len(signature)) + signature


class _Reader:
    """Takes fields off the front of the file, naming what is missing when it ends early."""

    def __init__(self, blob: bytes, what: str) -> None:
        self.blob, self.what, self.at = blob, what, 0

    def take(self, n: int, field: str) -> bytes:
        if self.at + n > len(self.blob):
            raise MalformedError(self.what, f"ends inside the {field}: truncated")
        out = self.blob[self.at:self.at + n]
        self.at += n
        return out

    def skip(self, n: int, field: str) -> None:
        """Step over ``n`` bytes without copying them (the segments: up to 64 MiB)."""
        if self.at + n > len(self.blob):
            raise MalformedError(self.what, f"ends inside the {field}: truncated")
        self.at += n

    def u16(self, field: str) -> int:
        return int(_U16.unpack(self.take(2, field))[0])


def _division(raw: bytes, field: str, what: str) -> str:
    try:
        return division.validate(raw.decode("ascii"))
    except (UnicodeDecodeError, InputError) as exc:
        raise MalformedError(what, f"{field} is not a division code") from exc


def parse(blob: bytes, what: str, max_unpacked: int) -> Envelope:
    """The header and layout of an encrypted bundle, checked against the file's length.

    An unencrypted (version 1) bundle is refused in one line naming its version.
    """
    if blob.startswith(_GZIP_MAGIC):
        raise MalformedError(what, "an unencrypted version-1 bundle (gzip); this tongban "
                             f"reads only encrypted version-{VERSION} bundles: export it again "
                             "at the sending node with this version")
    if not blob.startswith(MAGIC):
        raise MalformedError(what, "not a tongban bundle (no TBBUNDLE header)")
    reader = _Reader(blob, what)
    (_, version, suite, sender, recipient, recipient_fp, created_ms, content_size,
     unpacked_size, chain_count) = _FIXED.unpack(reader.take(_FIXED.size, "header"))
    if version != VERSION:
        raise MalformedError(what, f"bundle format version {version}; this tongban reads "
                             f"version {VERSION}")
    if suite != SUITE_HPKE_P256_AES256GCM:
        raise MalformedError(what, f"unknown cipher suite {suite}")
    if unpacked_size > max_unpacked:
        raise MalformedError(what, f"declares {unpacked_size:,} bytes unpacked, more than the "
                             f"{max_unpacked:,} allowed")
    if chain_count > MAX_CHAIN_CERTS:
        raise MalformedError(what, f"sender chain of {chain_count} certificates, want at most "
                             f"{MAX_CHAIN_CERTS}")
    chain = tuple(reader.take(reader.u16("sender chain"), "sender chain")
                  for _ in range(chain_count))
    bound_end = reader.at
    wrapped = reader.take(reader.u16("wrapped key"), "wrapped key")
    if len(wrapped) != WRAPPED_BYTES:
        raise MalformedError(what, f"wrapped key of {len(wrapped)} bytes, want {WRAPPED_BYTES}")
    segments_at = reader.at
    count = _segment_count(content_size)
    if content_size + count * TAG_BYTES > len(blob) - segments_at:
        raise MalformedError(what, f"declares {content_size:,} bytes of content, more than "
                             "the file holds: truncated")
    reader.skip(content_size + count * TAG_BYTES, "segments")
    signed_end = reader.at
    signature = reader.take(reader.u16("signature"), "signature")
    if not signature or len(signature) > MAX_SIGNATURE_BYTES:
        raise MalformedError(what, f"signature of {len(signature)} bytes")
    if reader.at != len(blob):
        raise MalformedError(what, f"{len(blob) - reader.at:,} bytes after the signature")
    return Envelope(_division(sender, "sender", what), _division(recipient, "recipient", what),
                    recipient_fp, created_ms, content_size, unpacked_size, chain, wrapped,
                    _info(blob[:bound_end]), blob, segments_at, signed_end, signature)


def verify_sender(envelope: Envelope, cert: x509.Certificate, what: str) -> None:
    """The sender's signature over the stored header and ciphertext, by ``cert``'s key."""
    try:
        P256.verify(cert.public_key(), envelope.signed_bytes(), envelope.signature)  # type: ignore[arg-type]
    except VerificationError as exc:
        raise VerificationError(f"{what}: signature by {envelope.sender} does not verify: the "
                                "file was changed after it was made") from exc


def _segments(envelope: Envelope, key: ec.EllipticCurvePrivateKey, what: str
              ) -> Iterator[bytes]:
    """Each segment's plaintext in order, authenticated; the file key unwrapped first."""
    try:
        file_key = _HPKE.decrypt(envelope.wrapped, key, info=envelope.info)
    except (InvalidTag, ValueError) as exc:
        raise VerificationError(f"{what}: the file key does not unwrap with this node's key "
                                "(changed header, or encrypted to another key)") from exc
    aead = AESGCM(file_key)
    view = memoryview(envelope.blob)
    at, left = envelope.segments_at, envelope.content_size
    count = _segment_count(envelope.content_size)
    for i in range(count):
        size = min(left, SEGMENT_BYTES) + TAG_BYTES
        try:
            yield aead.decrypt(_nonce(i, i == count - 1), view[at:at + size], None)
        except InvalidTag as exc:
            raise VerificationError(f"{what}: segment {i} of {count} does not authenticate "
                                    "(changed, cut or reordered)") from exc
        at += size
        left -= size - TAG_BYTES


def open_content(envelope: Envelope, key: ec.EllipticCurvePrivateKey, what: str
                 ) -> bytearray:
    """The decrypted, inflated content, never inflated past ``unpacked_size`` (a bytearray:
    protobuf parses it as it is, without a second copy of up to 64 MiB)."""
    declared = envelope.unpacked_size
    inflater = zlib.decompressobj(wbits=-15)
    out = bytearray()
    try:
        for plain in _segments(envelope, key, what):
            pending = plain
            while pending:
                room = declared + 1 - len(out)
                out += inflater.decompress(pending, max(1, min(room, _INFLATE_STEP)))
                if len(out) > declared:
                    raise MalformedError(what, f"inflates past the {declared:,} bytes it "
                                         "declares")
                pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise MalformedError(what, f"damaged deflate data ({exc})") from exc
    if not inflater.eof or inflater.unused_data or len(out) != declared:
        raise MalformedError(what, f"inflates to {len(out):,} bytes, not the {declared:,} it "
                             "declares")
    return out
