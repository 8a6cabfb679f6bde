"""Checkpoints, receipts and the fork guard, in the C2SP signed-note text form."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import sqlite3
import struct
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st
from pki_fixtures import LATER, NOW, enrol, federation

from pki import checkpoint as cp
from pki.errors import InputError, MalformedError, VerificationError
from pki.suite import P256
from sync.log import LogStore

ROOT = hashlib.sha256(b"records").digest()


@pytest.fixture(scope="module")
def fed():
    return federation()


@pytest.fixture(scope="module")
def note(fed):
    return cp.sign_checkpoint(cp.Checkpoint("tongban/540102", 5, ROOT), fed.county.key)


def _swap_line(note: bytes, payload: bytes, name: str = "tongban/540102") -> bytes:
    body = note.split(b"\n\n")[0]
    return body + b"\n\n" + f"— {name} ".encode() + base64.b64encode(payload) + b"\n"


def test_note_text_form(fed, note):
    body = b"tongban/540102\n5\n" + base64.b64encode(ROOT) + b"\n"
    assert note.startswith(body + b"\n\xe2\x80\x94 tongban/540102 ")
    assert note.endswith(b"\n") and note.count(b"\n") == 5
    checkpoint, sigs = cp.parse_note(note)
    assert checkpoint == cp.Checkpoint("tongban/540102", 5, ROOT)
    assert checkpoint.body() == body and checkpoint.division == "540102"
    assert [s.name for s in sigs] == ["tongban/540102"]
    assert sigs[0].key_id == P256.key_id("tongban/540102", fed.county.key.public_key())
    P256.verify(fed.county.cert.public_key(), body, sigs[0].signature)


def test_verify_returns_checkpoint(fed, note):
    assert cp.verify_checkpoint(note, fed.county.cert) == cp.Checkpoint("tongban/540102", 5, ROOT)


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"\n5\n", b"\n6\n"), (base64.b64encode(ROOT), base64.b64encode(bytes(32)))],
)
def test_tampered_body(fed, note, old, new):
    with pytest.raises(VerificationError) as err:
        cp.verify_checkpoint(note.replace(old, new, 1), fed.county.cert)
    assert str(err.value) == (
        f"checkpoint signature for tongban/540102 (key ID "
        f"{P256.key_id('tongban/540102', fed.county.key.public_key()).hex()}) does not verify"
    )


def test_tampered_signature(fed, note):
    sig = cp.parse_note(note)[1][0]
    flipped = bytearray(sig.signature)
    flipped[-1] ^= 0x01
    with pytest.raises(VerificationError, match="does not verify"):
        cp.verify_checkpoint(_swap_line(note, sig.key_id + bytes(flipped)), fed.county.cert)


def test_tampered_key_id(fed, note):
    sig = cp.parse_note(note)[1][0]
    bad = bytes([sig.key_id[0] ^ 0xFF]) + sig.key_id[1:]
    with pytest.raises(VerificationError) as err:
        cp.verify_checkpoint(_swap_line(note, bad + sig.signature), fed.county.cert)
    assert str(err.value) == (
        f"checkpoint for tongban/540102 is not signed by this certificate's key: "
        f"got key ID {bad.hex()}, want {sig.key_id.hex()}"
    )


def test_certificate_of_another_division(fed, note):
    with pytest.raises(VerificationError) as err:
        cp.verify_checkpoint(note, fed.region.cert)
    assert str(err.value) == (
        "checkpoint origin tongban/540102 does not match certificate division 540000 "
        "(want tongban/540000)"
    )


def test_signed_only_by_someone_else(fed, note):
    sig = cp.parse_note(note)[1][0]
    other = _swap_line(note, sig.key_id + sig.signature, name="tongban/540000")
    with pytest.raises(VerificationError, match="has no signature by its origin"):
        cp.verify_checkpoint(other, fed.county.cert)


def test_rotated_key_needs_its_own_certificate(fed, note):
    renewed = enrol("540102", fed.region)
    with pytest.raises(VerificationError, match="is not signed by this certificate's key"):
        cp.verify_checkpoint(note, renewed.cert)
    new_note = cp.sign_checkpoint(cp.Checkpoint("tongban/540102", 6, ROOT), renewed.key)
    assert cp.verify_checkpoint(new_note, renewed.cert).size == 6
    assert cp.verify_checkpoint(note, fed.county.cert).size == 5


GOOD_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"tongban/540102\n5\n{GOOD_ROOT}\n", "no blank line between body and signatures"),
        (f"tongban/540102\n05\n{GOOD_ROOT}\n\n— a AAAAAAAA\n", "size '05' is not a decimal"),
        (f"tongban/540102\n-1\n{GOOD_ROOT}\n\n— a AAAAAAAA\n", "size '-1' is not a decimal"),
        (f"tongban/540102\n{2**64}\n{GOOD_ROOT}\n\n— a AAAAAAAA\n", "is not a decimal uint64"),
        ("tongban/540102\n5\nAAAA\n\n— a AAAAAAAA\n", "root hash is 3 bytes, want 32"),
        (f"tongban/540102\n5\n{GOOD_ROOT[:-1]}\n\n— a AAAAAAAA\n", "root hash is not base64"),
        (f"tongban/540102\n5\n{GOOD_ROOT}\nextra\n\n— a AAAAAAAA\n", "want 3 lines"),
        (f"other/540102\n5\n{GOOD_ROOT}\n\n— a AAAAAAAA\n", "does not start with tongban/"),
        (f"tongban/54010\n5\n{GOOD_ROOT}\n\n— a AAAAAAAA\n", "bad division code '54010'"),
        (f"tongban/540102\n5\n{GOOD_ROOT}\n\n— a AAAAAAAA", "do not end with a newline"),
        (f"tongban/540102\n5\n{GOOD_ROOT}\n\n- a AAAAAAAA\n", "does not start with '— '"),
        (f"tongban/540102\n5\n{GOOD_ROOT}\n\n— a\n", "is not '— <name> <base64>'"),
        (f"tongban/540102\n5\n{GOOD_ROOT}\n\n— a AAAA\n", "signature by a is only 3 bytes"),
        (f"tongban/540102\n5\n{GOOD_ROOT}\n\n— a AAAAAAB=\n", "not canonical base64"),
        (f"tongban/540102\n5\n{GOOD_ROOT}\r\n\n— a AAAAAAAA\n", "control character '\\r'"),
    ],
)
def test_malformed_notes(text, why):
    with pytest.raises(MalformedError) as err:
        cp.parse_note(text.encode())
    assert str(err.value).startswith("malformed checkpoint: ")
    assert why in str(err.value)


def test_note_limits():
    with pytest.raises(MalformedError, match="not UTF-8"):
        cp.parse_note(b"\xff\xfe")
    with pytest.raises(MalformedError, match="limit 16384"):
        cp.parse_note(b"a" * 20000)
    lines = "".join("— a AAAAAAAA\n" for _ in range(40))
    with pytest.raises(MalformedError, match="40 signatures, limit 32"):
        cp.parse_note(f"tongban/540102\n5\n{GOOD_ROOT}\n\n{lines}".encode())


@given(size=st.integers(0, 2**64 - 1), root=st.binary(min_size=32, max_size=32),
       code=st.sampled_from(["000000", "540000", "540100", "540102", "540102001000"]))
def test_body_round_trip(size, root, code):
    checkpoint = cp.Checkpoint(cp.origin_for(code), size, root)
    assert cp.parse_checkpoint_body(checkpoint.body()) == checkpoint


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_malformed(data):
    with contextlib.suppress(MalformedError):
        cp.parse_note(data)


def test_receipt_make_and_verify(fed, note):
    receipt = cp.make_receipt(note, fed.region.key, "540000", LATER)
    line = receipt.to_bytes()
    assert line.startswith("— tongban/540000 ".encode()) and line.endswith(b"\n")
    raw = base64.b64decode(line.split(b" ")[2])
    assert raw[:4] == P256.key_id("tongban/540000", fed.region.key.public_key())
    assert struct.unpack(">Q", raw[4:12])[0] == int(LATER.timestamp())
    message = b"cosignature/v1\ntime " + str(int(LATER.timestamp())).encode() + b"\n"
    P256.verify(fed.region.cert.public_key(), message + cp.parse_note(note)[0].body(), raw[12:])
    assert cp.verify_receipt(note, line, fed.region.cert) == receipt
    cosigned = note + line
    assert cp.verify_checkpoint(cosigned, fed.county.cert).size == 5
    assert cp.receipts_in(cosigned) == [receipt]
    body = cp.parse_note(note)[0].body()
    assert cp.verify_receipt(body, receipt, fed.region.cert).timestamp == LATER


def test_root_cosigns_a_grandchild(fed, note):
    receipt = cp.make_receipt(note, fed.root.key, "000000", LATER)
    assert cp.verify_receipt(note, receipt, fed.root.cert).cosigner == "000000"


def test_receipt_with_tampered_time(fed, note):
    receipt = cp.make_receipt(note, fed.region.key, "540000", LATER)
    moved = cp.Receipt(receipt.cosigner, receipt.time - 3600, receipt.key_id, receipt.signature)
    with pytest.raises(VerificationError) as err:
        cp.verify_receipt(note, moved, fed.region.cert)
    assert str(err.value) == "receipt by 540000 for tongban/540102 size 5 does not verify"


def test_receipt_for_another_checkpoint(fed, note):
    receipt = cp.make_receipt(note, fed.region.key, "540000", LATER)
    other = cp.sign_checkpoint(cp.Checkpoint("tongban/540102", 6, ROOT), fed.county.key)
    with pytest.raises(VerificationError, match="size 6 does not verify"):
        cp.verify_receipt(other, receipt, fed.region.cert)


def test_receipt_refusals(fed, note):
    with pytest.raises(InputError, match="650000 cannot cosign a checkpoint of 540102"):
        cp.make_receipt(note, fed.region.key, "650000", LATER)
    receipt = cp.make_receipt(note, fed.region.key, "540000", LATER)
    with pytest.raises(VerificationError, match="receipt is by 540000, but the certificate is"):
        cp.verify_receipt(note, receipt, fed.root.cert)
    stranger = enrol("540000", fed.root)
    with pytest.raises(VerificationError, match="not signed by this certificate's key"):
        cp.verify_receipt(note, receipt, stranger.cert)
    own = cp.make_receipt(note, fed.root.key, "000000", LATER)
    forged = cp.Receipt("540102", own.time, own.key_id, own.signature)
    with pytest.raises(VerificationError, match="the cosigner is not an ancestor"):
        cp.verify_receipt(note, forged, fed.county.cert)
    with pytest.raises(MalformedError, match="malformed receipt: want exactly one signature"):
        cp.parse_receipt(receipt.to_bytes() * 2)


def _log_with(db: sqlite3.Connection, records: list[bytes]) -> LogStore:
    store = LogStore(db)
    store.append("540102", store.size("540102"), records)
    return store


def test_signer_follows_a_real_log_and_refuses_forks(fed, tmp_path):
    db = sqlite3.connect(tmp_path / "node.db")
    LogStore.migrate(db)
    store = _log_with(db, [b"r0", b"r1", b"r2"])
    signer = cp.CheckpointSigner(fed.county.key, "540102")
    first = signer.sign(3, store.root("540102", 3), None, None)
    signed = cp.verify_checkpoint(first, fed.county.cert)
    _log_with(db, [b"r3", b"r4"])
    second = signer.sign(5, store.root("540102", 5), (signed.size, signed.root),
                         store.root("540102", 3))
    assert cp.verify_checkpoint(second, fed.county.cert).size == 5
    again = signer.sign(5, store.root("540102", 5), (5, store.root("540102", 5)),
                        store.root("540102", 5))
    assert cp.verify_checkpoint(again, fed.county.cert).size == 5

    forked = sqlite3.connect(tmp_path / "forked.db")
    LogStore.migrate(forked)
    fork = _log_with(forked, [b"r0", b"rX", b"r2", b"r3", b"r4", b"r5"])
    with pytest.raises(cp.ForkRefused) as err:
        signer.sign(6, fork.root("540102", 6), (5, store.root("540102", 5)),
                    fork.root("540102", 5))
    assert str(err.value).startswith(
        "refusing to sign tongban/540102 size 6: the log's root at size 5 is "
        f"{fork.root('540102', 5).hex()}, but the signed checkpoint says"
    )
    with pytest.raises(cp.ForkRefused, match="already signed size 5 \\(a log never shrinks\\)"):
        signer.sign(4, store.root("540102", 4), (5, store.root("540102", 5)),
                    store.root("540102", 5))
    with pytest.raises(cp.ForkRefused, match="signing would fork"):
        signer.sign(5, fork.root("540102", 5), (5, store.root("540102", 5)),
                    store.root("540102", 5))
    with pytest.raises(InputError, match="needs the log's root at that size \\(got None\\)"):
        signer.sign(6, fork.root("540102", 6), (5, store.root("540102", 5)), None)


def test_signer_refuses_bad_roots_and_keys(fed):
    signer = cp.CheckpointSigner(fed.county.key, "540102")
    with pytest.raises(MalformedError, match="root hash is 31 bytes"):
        signer.sign(1, bytes(31), None, None)
    with pytest.raises(InputError, match="want ECDSA P-256"):
        cp.sign_checkpoint(cp.Checkpoint("tongban/540102", 1, ROOT),
                           ed25519.Ed25519PrivateKey.generate())


def test_receipt_time_must_be_aware(fed, note):
    with pytest.raises(InputError, match="timezone-aware"):
        cp.make_receipt(note, fed.region.key, "540000", (NOW + timedelta(1)).replace(tzinfo=None))


def test_one_signature_line_per_key_and_it_decides(fed, note):
    """Found by the fuzzer: a good line beside a cut-short copy of it verified, so a
    different note was accepted as the same one. Either order, and an exact copy, refused."""
    body, line = note.split(b"\n\n")
    name = "— tongban/540102 ".encode()
    bogus = line[:len(name) + 12] + b"\n"  # the key ID and five bytes of the signature
    for twice in (bogus + line, line + bogus, line + line):
        with pytest.raises(VerificationError) as err:
            cp.verify_checkpoint(body + b"\n\n" + twice, fed.county.cert)
        assert str(err.value) == (
            f"checkpoint for tongban/540102 carries 2 signatures by key ID "
            f"{P256.key_id('tongban/540102', fed.county.key.public_key()).hex()}, want one")
