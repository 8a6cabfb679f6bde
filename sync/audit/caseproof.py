"""Self-contained proofs that some records are in their origins' signed logs.

A proof file lets an auditor who has never seen the federation check a
handful of records (one case's events) with nothing but the national root
certificate. It is JSON, version ``tongban-case-proof/1``::

    {"format": "tongban-case-proof/1",
     "label": "<what the records are, e.g. the case number; informational>",
     "logs": [{"origin": "540102",
               "checkpoint": "<signed note, verbatim>",
               "receipts": ["<parent cosignature line, verbatim>", ...],
               "records": [{"seq": 3, "data": "<base64 of the exact record bytes>",
                            "proof": ["<base64 sibling hash>", ...]}]}],
     "certificates": ["<base64 DER>", ...]}

``certificates`` holds the signers' and cosigners' certificates and their
issuers, never the root: the root is what the auditor brings. Each record is
checked with an RFC 9162 inclusion proof against the checkpoint's root, the
checkpoint's signature against a certificate of its origin that chains to the
root (subtree rule) at the trusted time (the earliest verified parent receipt
not dated after the verifier's clock, else now), and each receipt against the
parent's certificate.

The proof shows the records are authentic and in the log at their sequence
numbers; it cannot show that no other record of the same case exists (that
takes the whole log: ``tongban audit verify``). Revocations are not carried,
so a proof is judged without them; the trusted time says when the chain held.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from pki import division
from pki.certs import division_of, is_self_signed
from pki.errors import Error, InputError, MalformedError, VerificationError
from pki.revocation import RevocationSet
from protos.tongban.v1 import record_pb2
from sync import merkle
from sync.audit.tree import FUTURE_SLACK_MS
from sync.certstore import CertStore, der, parse_der
from sync.log import LogStore
from sync.records import parse_record, show_ms
from sync.trust import Verifier

FORMAT = "tongban-case-proof/1"


@dataclass(frozen=True)
class ProvenLog:
    origin: str
    size: int
    root: bytes
    signer: x509.Certificate
    trusted_time: datetime | None  # None: no parent receipt, judged at now (unconfirmed)
    records: list[tuple[int, record_pb2.Record]]
    #: verified receipts dated after the verifier's clock: never the trusted time
    future_receipts: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckedProof:
    label: str
    logs: list[ProvenLog]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _covering(log: LogStore, origin: str, last_seq: int) -> tuple[int, bytes]:
    """The smallest cosigned checkpoint covering ``last_seq``, else the newest covering one."""
    covering = [c for c in log.checkpoints(origin) if c.size > last_seq]
    if not covering:
        raise InputError(f"no checkpoint of {origin} covers seq {last_seq} yet: "
                         "nothing signed to prove it against")
    cosigned = [c for c in covering if log.receipts(origin, c.size)]
    chosen = cosigned[0] if cosigned else covering[-1]
    return chosen.size, chosen.note


def prove(db: sqlite3.Connection, refs: Iterable[tuple[str, int]], label: str,
          extra_certs: Iterable[x509.Certificate] = ()) -> bytes:
    """The proof file for the records at ``refs`` (origin, seq), as JSON bytes."""
    log = LogStore(db)
    by_origin: dict[str, list[int]] = {}
    for origin, seq in refs:
        by_origin.setdefault(origin, []).append(seq)
    if not by_origin:
        raise InputError(f"nothing to prove for {label}: no records given")
    pool = [c for c in [*CertStore(db).all(), *extra_certs] if not is_self_signed(c)]
    logs = []
    wanted: set[str] = set()
    for origin, seqs in sorted(by_origin.items()):
        seqs = sorted(set(seqs))
        size, note = _covering(log, origin, seqs[-1])
        receipts = [r.note.decode("utf-8") for r in log.receipts(origin, size)]
        wanted.update(division.ancestors(origin))
        wanted.add(origin)
        logs.append({
            "origin": origin, "checkpoint": note.decode("utf-8"), "receipts": receipts,
            "records": [{"seq": seq, "data": _b64(log.record(origin, seq)),
                         "proof": [_b64(h) for h in log.inclusion_proof(origin, seq, size)]}
                        for seq in seqs],
        })
    certs = {der(c): None for c in pool if division_of(c) in wanted}
    return json.dumps({"format": FORMAT, "label": label, "logs": logs,
                       "certificates": [_b64(d) for d in certs]},
                      ensure_ascii=False, indent=1).encode("utf-8")


def _field(obj: object, key: str, kind: type, where: str):
    if not isinstance(obj, dict) or not isinstance(obj.get(key), kind):
        raise MalformedError("case proof", f"{where}: want {key!r} as {kind.__name__}")
    return obj[key]


def _only_keys(obj: dict, allowed: set[str], where: str) -> None:
    """A proof holds only what ``prove`` writes: an unknown key is damage, not an extension."""
    if not isinstance(obj, dict):
        raise MalformedError("case proof", f"{where}: want a JSON object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise MalformedError("case proof", f"{where}: unknown keys {', '.join(unknown)}")


def _unb64(value: object, where: str) -> bytes:
    """Canonical base64 only, as ``prove`` writes it and pki.checkpoint reads notes: the
    bits after the last whole byte are not data, so a file that sets them decodes to the
    same bytes and would be a second file for one proof (found by the fuzzer)."""
    if not isinstance(value, str):
        raise MalformedError("case proof", f"{where}: want a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("case proof", f"{where}: not base64") from exc
    if _b64(raw) != value:
        raise MalformedError("case proof", f"{where}: not canonical base64")
    return raw


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys appear once: with a key twice, two readers of the same file
    could see two different proofs (found by the fuzzer)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise MalformedError("case proof", "a key appears twice in one object")
    return found


def _no_lone_surrogates(doc: object) -> None:
    """JSON may escape half a UTF-16 pair (``"\\udc00"``), which is no text at all: the
    checkpoint or a receipt holding one would raise UnicodeEncodeError where it is encoded
    to be verified, and a label holding one where it is printed (found by the fuzzer)."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError("case proof", "a string holds a lone UTF-16 surrogate "
                             f"({exc.object[exc.start:exc.end]!a})") from exc


def check(data: bytes, root: x509.Certificate, now: datetime) -> CheckedProof:
    """The proven records, or the error naming what does not verify."""
    try:
        doc = json.loads(data, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedError("case proof", f"not JSON ({exc})") from exc
    _no_lone_surrogates(doc)
    _only_keys(doc, {"format", "label", "certificates", "logs"}, "top level")
    if _field(doc, "format", str, "top level") != FORMAT:
        raise MalformedError("case proof", f"format {doc['format']!r}, want {FORMAT!r}")
    pool = parse_der([_unb64(c, "certificates") for c in
                      _field(doc, "certificates", list, "top level")], "case proof certificate")
    verifier = Verifier(root, RevocationSet(), pool)
    logs = [_check_log(verifier, entry, now) for entry in _field(doc, "logs", list, "top level")]
    if not logs:
        raise MalformedError("case proof", "no logs")
    return CheckedProof(str(doc.get("label", "")), logs)


def _check_log(verifier: Verifier, entry: object, now: datetime) -> ProvenLog:
    origin = _field(entry, "origin", str, "log")
    where = f"log of {origin}"
    if not isinstance(entry, dict):
        raise MalformedError("case proof", f"{where} is not an object")
    _only_keys(entry, {"origin", "checkpoint", "receipts", "records"}, where)
    note = _field(entry, "checkpoint", str, where).encode("utf-8")
    try:
        signed = verifier.signer(note)
    except Error as exc:
        raise VerificationError(f"checkpoint of {origin}: {exc}") from exc
    cp = signed.checkpoint
    if cp.division != origin:
        raise VerificationError(f"{where}: the checkpoint is for {cp.division}")
    trusted = None
    future: list[str] = []
    for line in _field(entry, "receipts", list, where):
        if not isinstance(line, str):
            raise MalformedError("case proof", f"{where}: receipts must be strings")
        try:
            receipt, _ = verifier.receipt(origin, line.encode("utf-8"), [signed])
        except Error as exc:
            raise VerificationError(f"receipt for {origin} size {cp.size}: {exc}") from exc
        if receipt.time * 1000 > now.timestamp() * 1000 + FUTURE_SLACK_MS:
            future.append(f"{receipt.cosigner} at {show_ms(receipt.time * 1000)} UTC")
            continue  # a receipt from the future is never the trusted time
        trusted = receipt.timestamp if trusted is None else min(trusted, receipt.timestamp)
    try:
        verifier.chain(signed.signer, trusted or now)
    except Error as exc:
        raise VerificationError(f"checkpoint of {origin} size {cp.size}: {exc}") from exc
    records = []
    for item in _field(entry, "records", list, where):
        seq = _field(item, "seq", int, where)
        _only_keys(item, {"seq", "data", "proof"}, f"{where} seq {seq}")
        data = _unb64(item.get("data"), f"{where} seq {seq}")
        proof = [_unb64(h, f"{where} seq {seq} proof") for h in
                 _field(item, "proof", list, f"{where} seq {seq}")]
        try:
            merkle.verify_inclusion(seq, cp.size, merkle.leaf_hash(data), proof, cp.root)
        except Error as exc:
            raise VerificationError(f"record {origin}#{seq} is not in the signed log: {exc}"
                                    ) from exc
        record = parse_record(data)
        if record.origin != origin or record.seq != seq:
            raise VerificationError(f"record {origin}#{seq} claims origin {record.origin!r} "
                                    f"seq {record.seq}")
        records.append((seq, record))
    return ProvenLog(origin, cp.size, cp.root, signed.signer, trusted, records, tuple(future))
