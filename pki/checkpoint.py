"""Checkpoints and receipts as C2SP signed notes.

Checkpoint body (C2SP tlog-checkpoint), no extension lines::

    tongban/<division>\\n<size in decimal>\\n<base64 of the 32-byte Merkle root>\\n

Signed note (C2SP signed-note): the body, an empty line, then one line per
signature ``— <key name> <base64(key ID || signature)>\\n``. The key name is the
origin line itself. The signature is ECDSA P-256 / SHA-256 in DER over the exact
body bytes, so ``openssl dgst -sha256 -verify`` checks it unaided. signed-note
defines key IDs for Ed25519 only; for P-256 we use the same construction with
signature type 0x02 and the DER SubjectPublicKeyInfo as the key bytes::

    key ID = SHA-256(key name || 0x0A || 0x02 || SPKI DER)[:4]

Receipt (the parent's cosignature, after C2SP tlog-cosignature): the parent
signs ``cosignature/v1\\ntime <unix seconds>\\n`` followed by the checkpoint body
and adds the line ``— tongban/<parent> <base64(key ID || 8-byte big-endian
seconds || DER signature)>``. The key ID is computed as above from the parent's
key name; the ``cosignature/v1`` prefix keeps a receipt from ever being mistaken
for a checkpoint the parent signed itself.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509

from pki import division
from pki.certs import division_of
from pki.errors import InputError, MalformedError, VerificationError
from pki.suite import P256, SignatureSuite, SigningKey, suite_for

ORIGIN_PREFIX = "tongban/"
DASH = "\u2014 "
ROOT_SIZE = 32
KEY_ID_SIZE = 4
#: signed-note tells verifiers to bound what they parse; a checkpoint has a few lines.
MAX_NOTE_BYTES = 16 * 1024
MAX_SIGNATURES = 32

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")
_KEY_NAME = re.compile(r"^[^\s+]+$")


def origin_for(code: str) -> str:
    return ORIGIN_PREFIX + division.validate(code)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @property
    def division(self) -> str:
        return self.origin.removeprefix(ORIGIN_PREFIX)

    def body(self) -> bytes:
        root = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n".encode()


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> bytes:
        payload = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{DASH}{self.name} {payload}\n".encode()


@dataclass(frozen=True)
class Receipt:
    """A parent's cosignature: it holds the checkpoint and saw it at ``time``."""

    cosigner: str
    time: int
    key_id: bytes
    signature: bytes

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.time, UTC)

    def to_bytes(self) -> bytes:
        return NoteSignature(
            origin_for(self.cosigner), self.key_id, struct.pack(">Q", self.time) + self.signature
        ).line()


class ForkRefused(VerificationError):
    """Signing would produce a checkpoint inconsistent with one already signed."""


def parse_checkpoint_body(data: bytes) -> Checkpoint:
    text = _utf8_text(data, "checkpoint")
    if not text.endswith("\n"):
        raise MalformedError("checkpoint", "body does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) != 3:
        raise MalformedError(
            "checkpoint", f"want 3 lines (origin, size, root), got {len(lines)}"
        )
    origin, size, root_b64 = lines
    if not origin.startswith(ORIGIN_PREFIX):
        raise MalformedError("checkpoint", f"origin {origin!r} does not start with {ORIGIN_PREFIX}")
    try:
        division.validate(origin.removeprefix(ORIGIN_PREFIX))
    except InputError as exc:
        raise MalformedError("checkpoint", f"origin {origin!r}: {exc}") from exc
    if not _SIZE.match(size) or int(size) >= 2**64:
        raise MalformedError("checkpoint", f"size {size!r} is not a decimal uint64")
    root = _b64(root_b64, "checkpoint", "root hash")
    if len(root) != ROOT_SIZE:
        raise MalformedError("checkpoint", f"root hash is {len(root)} bytes, want {ROOT_SIZE}")
    return Checkpoint(origin, int(size), root)


def parse_note(data: bytes) -> tuple[Checkpoint, list[NoteSignature]]:
    """Split a signed note into its checkpoint and signature lines (nothing verified)."""
    if len(data) > MAX_NOTE_BYTES:
        raise MalformedError("checkpoint", f"note is {len(data)} bytes, limit {MAX_NOTE_BYTES}")
    text = _utf8_text(data, "checkpoint")
    body, sep, sig_text = text.partition("\n\n")
    if not sep:
        raise MalformedError("checkpoint", "no blank line between body and signatures")
    checkpoint = parse_checkpoint_body((body + "\n").encode())
    if not sig_text.endswith("\n"):
        raise MalformedError("checkpoint", "signature lines do not end with a newline")
    lines = sig_text[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedError("checkpoint", f"{len(lines)} signatures, limit {MAX_SIGNATURES}")
    return checkpoint, [_signature_line(line) for line in lines]


def sign_checkpoint(cp: Checkpoint, key: SigningKey, suite: SignatureSuite = P256) -> bytes:
    """The signed note for ``cp``; callers go through CheckpointSigner to avoid forks."""
    parse_checkpoint_body(cp.body())  # never sign what a verifier could not parse back
    signature = suite.sign(key, cp.body())
    public = key.public_key()
    sig = NoteSignature(cp.origin, suite.key_id(cp.origin, public), signature)
    return cp.body() + b"\n" + sig.line()


def verify_checkpoint(note: bytes, certificate: x509.Certificate) -> Checkpoint:
    """The checkpoint, if ``certificate``'s key signed it for the certificate's division.

    The certificate chain itself is the caller's business (pki.verify.verify_chain);
    this only binds note, origin and key.
    """
    return _verified(note, certificate)[0]


def signing_certificate(note: bytes, candidates: list[x509.Certificate]) -> x509.Certificate:
    """The candidate whose key signed ``note`` for its division (a node may hold several
    certificates after key rotation), or VerificationError saying why each one failed."""
    problems = []
    for cert in candidates:
        try:
            _verified(note, cert)
        except VerificationError as exc:
            problems.append(str(exc))
            continue
        return cert
    raise VerificationError("; ".join(problems) or "no certificate to check the signature with")


def checkpoint_signature(note: bytes, certificate: x509.Certificate) -> bytes:
    """The verified DER signature by ``certificate``'s key, as an exported .sig holds it."""
    return _verified(note, certificate)[1].signature


def _verified(note: bytes, certificate: x509.Certificate) -> tuple[Checkpoint, NoteSignature]:
    checkpoint, signatures = parse_note(note)
    code = division_of(certificate)
    if checkpoint.origin != origin_for(code):
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin} does not match certificate "
            f"division {code} (want {origin_for(code)})"
        )
    public = certificate.public_key()
    suite = suite_for(public)
    key_id = suite.key_id(checkpoint.origin, public)
    own = [s for s in signatures if s.name == checkpoint.origin]
    if not own:
        raise VerificationError(
            f"checkpoint for {checkpoint.origin} has no signature by its origin"
        )
    matching = [s for s in own if s.key_id == key_id]
    if not matching:
        got = ", ".join(s.key_id.hex() for s in own)
        raise VerificationError(
            f"checkpoint for {checkpoint.origin} is not signed by this certificate's key: "
            f"got key ID {got}, want {key_id.hex()}"
        )
    # One line by this key, and it decides: a second line, or a bad one beside a good one,
    # would be a different note accepted as the same (found by the fuzzer). Go's note.Open
    # also lets the first such line decide; it skips later ones, we refuse them.
    if len(matching) > 1:
        raise VerificationError(
            f"checkpoint for {checkpoint.origin} carries {len(matching)} signatures by key ID "
            f"{key_id.hex()}, want one"
        )
    (sig,) = matching
    try:
        suite.verify(public, checkpoint.body(), sig.signature)
    except VerificationError as exc:
        raise VerificationError(
            f"checkpoint signature for {checkpoint.origin} (key ID {key_id.hex()}) does not "
            "verify"
        ) from exc
    return checkpoint, sig


def _cosigned_message(body: bytes, time: int) -> bytes:
    return b"cosignature/v1\ntime " + str(time).encode() + b"\n" + body


def make_receipt(
    checkpoint_note: bytes,
    parent_key: SigningKey,
    parent_division: str,
    now: datetime,
    suite: SignatureSuite = P256,
) -> Receipt:
    """Cosign a child's checkpoint; the caller has verified and stored it first."""
    checkpoint, _ = parse_note(checkpoint_note)
    if not division.is_ancestor(parent_division, checkpoint.division):
        raise InputError(
            f"{parent_division} cannot cosign a checkpoint of {checkpoint.division}: "
            "want an ancestor division"
        )
    if now.tzinfo is None:
        raise InputError("receipt time must be timezone-aware (got a naive datetime)")
    time = int(now.timestamp())
    public = parent_key.public_key()
    signature = suite.sign(parent_key, _cosigned_message(checkpoint.body(), time))
    return Receipt(
        parent_division, time, suite.key_id(origin_for(parent_division), public), signature
    )


def parse_receipt(line: bytes) -> Receipt:
    text = _utf8_text(line, "receipt")
    if not text.endswith("\n") or text.count("\n") != 1:
        raise MalformedError("receipt", "want exactly one signature line ending in a newline")
    return _receipt_from(_signature_line(text[:-1], "receipt"))


def receipts_in(note: bytes) -> list[Receipt]:
    """The cosignatures carried on a note, in order (nothing verified)."""
    checkpoint, signatures = parse_note(note)
    return [_receipt_from(s) for s in signatures if s.name != checkpoint.origin]


def verify_receipt(
    checkpoint_note_or_body: bytes, receipt: Receipt | bytes, parent_cert: x509.Certificate
) -> Receipt:
    """The receipt, if ``parent_cert``'s key cosigned this checkpoint as an ancestor."""
    if b"\n\n" in checkpoint_note_or_body:
        checkpoint, _ = parse_note(checkpoint_note_or_body)
    else:
        checkpoint = parse_checkpoint_body(checkpoint_note_or_body)
    if isinstance(receipt, bytes):
        receipt = parse_receipt(receipt)
    parent = division_of(parent_cert)
    if receipt.cosigner != parent:
        raise VerificationError(
            f"receipt is by {receipt.cosigner}, but the certificate is for {parent}"
        )
    if not division.is_ancestor(parent, checkpoint.division):
        raise VerificationError(
            f"receipt by {parent} for {checkpoint.division}: the cosigner is not an ancestor"
        )
    public = parent_cert.public_key()
    suite = suite_for(public)
    want = suite.key_id(origin_for(parent), public)
    if receipt.key_id != want:
        raise VerificationError(
            f"receipt by {parent} is not signed by this certificate's key: "
            f"got key ID {receipt.key_id.hex()}, want {want.hex()}"
        )
    try:
        suite.verify(public, _cosigned_message(checkpoint.body(), receipt.time), receipt.signature)
    except VerificationError as exc:
        raise VerificationError(
            f"receipt by {parent} for {checkpoint.origin} size {checkpoint.size} does not verify"
        ) from exc
    return receipt


class CheckpointSigner:
    """Signs a node's checkpoints and refuses any that would fork its log.

    pki cannot read the Merkle log (sync sits above it), so the caller supplies
    the root its log has at the previously signed size; two signed checkpoints
    that disagree there are proof of a fork and must never exist.
    """

    def __init__(self, key: SigningKey, code: str, suite: SignatureSuite = P256) -> None:
        self.key = key
        self.origin = origin_for(code)
        self.suite = suite

    def sign(
        self,
        size: int,
        root: bytes,
        previous: tuple[int, bytes] | None,
        root_at_previous_size: bytes | None,
    ) -> bytes:
        if previous is not None:
            prev_size, prev_root = previous
            if size < prev_size:
                raise ForkRefused(
                    f"refusing to sign {self.origin} size {size}: already signed size "
                    f"{prev_size} (a log never shrinks)"
                )
            if root_at_previous_size is None:
                raise InputError(
                    f"signing {self.origin} after size {prev_size} needs the log's root "
                    "at that size (got None)"
                )
            if root_at_previous_size != prev_root or (size == prev_size and root != prev_root):
                raise ForkRefused(
                    f"refusing to sign {self.origin} size {size}: the log's root at size "
                    f"{prev_size} is {root_at_previous_size.hex()}, but the signed checkpoint "
                    f"says {prev_root.hex()} (signing would fork the log)"
                )
        return sign_checkpoint(Checkpoint(self.origin, size, root), self.key, self.suite)


def _utf8_text(data: bytes, what: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError(what, f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    bad = next((c for c in text if (c < " " and c != "\n") or c == "\x7f"), None)
    if bad is not None:
        raise MalformedError(what, f"control character {bad!r}")
    return text


def _b64(value: str, what: str, field: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError(what, f"{field} is not base64") from exc
    if base64.b64encode(raw).decode("ascii") != value:
        raise MalformedError(what, f"{field} is not canonical base64")
    return raw


def _signature_line(line: str, what: str = "checkpoint") -> NoteSignature:
    if not line.startswith(DASH):
        raise MalformedError(what, f"signature line {line[:40]!r} does not start with '— '")
    name, _, payload = line[len(DASH):].partition(" ")
    if not _KEY_NAME.match(name) or not payload or " " in payload:
        raise MalformedError(what, f"signature line {line[:40]!r} is not '— <name> <base64>'")
    raw = _b64(payload, what, "signature")
    if len(raw) <= KEY_ID_SIZE:
        raise MalformedError(what, f"signature by {name} is only {len(raw)} bytes")
    return NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def _receipt_from(sig: NoteSignature) -> Receipt:
    if not sig.name.startswith(ORIGIN_PREFIX):
        raise MalformedError("receipt", f"cosigner {sig.name!r} is not a tongban/ key name")
    try:
        cosigner = division.validate(sig.name.removeprefix(ORIGIN_PREFIX))
    except InputError as exc:
        raise MalformedError("receipt", f"cosigner {sig.name!r}: {exc}") from exc
    if len(sig.signature) <= 8:
        raise MalformedError("receipt", f"cosignature by {cosigner} has no room for a timestamp")
    (time,) = struct.unpack(">Q", sig.signature[:8])
    return Receipt(cosigner, time, sig.key_id, sig.signature[8:])
