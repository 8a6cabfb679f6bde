"""Judge one origin once its records are hashed: signatures, receipts, times, roots, forks.

Input-neutral on purpose: a node database and a bundle both reduce to
"claims" (the tree size the records reached, the signed note that should
cover it, and a consistency proof when the note is for a larger tree) and
receipt lines, so both get exactly the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pki.checkpoint import Checkpoint, parse_note
from pki.errors import Error
from sync import merkle
from sync.audit.report import ForkEvidence, Report
from sync.audit.tree import FUTURE_SLACK_MS
from sync.records import show_ms
from sync.trust import SignedCheckpoint, Verifier


@dataclass(frozen=True)
class Claim:
    at: int  # tree size the records reached
    root: bytes | None  # root recomputed at ``at``; None when the records do not reach it
    note: bytes  # the signed checkpoint that should cover [0, at)
    proof: tuple[bytes, ...] = ()  # consistency proof at -> checkpoint size, when larger
    #: (time ms, seq) of the latest-dated record among those hashed up to ``at``
    latest: tuple[int, int] | None = None


@dataclass(frozen=True)
class ReceiptRow:
    size: int
    line: bytes
    cosigner: str | None = None  # as stored beside the line, to compare
    time_ms: int | None = None


@dataclass
class OriginInput:
    origin: str
    claims: list[Claim] = field(default_factory=list)
    receipts: list[ReceiptRow] = field(default_factory=list)
    held: int | None = None  # records held from seq 0 (databases); None for bundles


def _note_text(note: bytes) -> str:
    return note.decode("utf-8", "replace")


def judge(report: Report, verifier: Verifier, item: OriginInput, now: datetime) -> None:
    """Every check of one origin; a checkpoint no ancestor cosigned is judged at ``now``."""
    origin = item.origin
    summary = report.origin(origin)
    parsed: dict[bytes, Checkpoint] = {}
    signed: dict[bytes, SignedCheckpoint] = {}
    for claim in item.claims:
        if claim.note in parsed:
            continue
        try:
            parsed[claim.note], _ = parse_note(claim.note)
        except Error as exc:
            report.problem(origin, None, "malformed-checkpoint", str(exc))
            continue
        cp = parsed[claim.note]
        if cp.division != origin:
            report.problem(origin, None, "checkpoint-origin",
                           f"checkpoint of size {cp.size} names {cp.origin}, but it is held "
                           f"for {origin}")
            continue
        try:
            signed[claim.note] = verifier.signer(claim.note)
        except Error as exc:
            report.problem(origin, None, "checkpoint-signature",
                           f"checkpoint of size {cp.size}: {exc}")
    summary.checkpoints = len(parsed)
    summary.newest = max((c.size for c in parsed.values()), default=None)
    times = _receipts(report, verifier, item, parsed, list(signed.values()), now)
    _chains(report, verifier, origin, signed, times, now)
    _roots(report, item, parsed, signed)
    _dated(report, item, times)


def _receipts(report: Report, verifier: Verifier, item: OriginInput,
              parsed: dict[bytes, Checkpoint], signed: list[SignedCheckpoint], now: datetime
              ) -> dict[bytes, datetime]:
    """Earliest verified receipt time (parent or higher ancestor) per checkpoint note.

    A receipt dated after the audit's clock (plus the slack) is reported and
    never becomes the trusted time: within the cosigner's validity it would
    otherwise move "valid at signing time" to a moment that has not come.
    """
    origin = item.origin
    latest_ms = now.timestamp() * 1000 + FUTURE_SLACK_MS
    newest = max((c.size for c in parsed.values()), default=-1)
    times: dict[bytes, datetime] = {}
    report.origin(origin).receipts = len(item.receipts)
    for row in item.receipts:
        at_size = [s for s in signed if s.checkpoint.size == row.size]
        if not at_size and row.size > newest:
            report.problem(origin, row.size, "withheld-checkpoint",
                           f"a receipt cosigns size {row.size}, but the newest checkpoint held "
                           f"is size {newest}: an older checkpoint is presented as newest "
                           "(the newer one was withheld or rolled back)")
            continue
        try:
            receipt, checkpoint = verifier.receipt(origin, row.line, at_size)
        except Error as exc:
            report.problem(origin, None, "receipt", f"receipt for size {row.size}: {exc}")
            continue
        if row.cosigner is not None and row.cosigner != receipt.cosigner:
            report.problem(origin, None, "receipt-row",
                           f"receipt for size {row.size}: stored cosigner {row.cosigner}, "
                           f"signed cosigner {receipt.cosigner}")
        if row.time_ms is not None and row.time_ms != receipt.time * 1000:
            report.problem(origin, None, "receipt-row",
                           f"receipt for size {row.size}: stored time {row.time_ms} ms, "
                           f"signed time {receipt.time * 1000} ms")
        if receipt.time * 1000 > latest_ms:
            report.problem(origin, row.size, "future-receipt",
                           f"receipt by {receipt.cosigner} for size {row.size} is dated "
                           f"{show_ms(receipt.time * 1000)} UTC, after the audit's clock "
                           f"{show_ms(int(now.timestamp() * 1000))} UTC: not used as the "
                           "trusted time")
            continue
        known = times.get(checkpoint.note)
        if known is None or receipt.timestamp < known:
            times[checkpoint.note] = receipt.timestamp
    return times


def _chains(report: Report, verifier: Verifier, origin: str,
            signed: dict[bytes, SignedCheckpoint], times: dict[bytes, datetime],
            now: datetime) -> None:
    summary = report.origin(origin)
    for note, sc in signed.items():
        at = times.get(note)
        if at is None:
            summary.unconfirmed += 1
            when = f"now ({now.isoformat()}), unconfirmed: no parent receipt"
        else:
            when = f"parent receipt time {at.isoformat()}"
        try:
            verifier.chain(sc.signer, at or now)
        except Error as exc:
            report.problem(origin, None, "certificate",
                           f"checkpoint of size {sc.checkpoint.size}, judged at {when}: {exc}")


def _dated(report: Report, item: OriginInput, times: dict[bytes, datetime]) -> None:
    """Records dated after the earliest ancestor receipt of a checkpoint that covers them.

    The receipt is the ancestor's word that it held the records at its time; a
    record dated later was written on a clock running ahead (or was forged).
    """
    flagged: set[int] = set()
    for claim in item.claims:
        at = times.get(claim.note)
        if at is None or claim.latest is None:
            continue
        dated_ms, seq = claim.latest
        receipt_ms = int(at.timestamp() * 1000)
        if dated_ms > receipt_ms + FUTURE_SLACK_MS and seq not in flagged:
            flagged.add(seq)
            report.problem(item.origin, seq, "after-receipt",
                           f"record dated {show_ms(dated_ms)} UTC, after the earliest ancestor "
                           f"receipt {show_ms(receipt_ms)} UTC of a checkpoint that covers it: "
                           "its clock ran ahead")


def _roots(report: Report, item: OriginInput, parsed: dict[bytes, Checkpoint],
           signed: dict[bytes, SignedCheckpoint]) -> None:
    origin = item.origin
    matches: dict[bytes, bool] = {}
    truncated = None
    for claim in item.claims:
        cp = parsed.get(claim.note)
        if cp is None:
            continue
        if claim.root is None:
            truncated = max(truncated or 0, cp.size)
            continue
        if cp.size < claim.at:
            report.problem(origin, cp.size, "unsigned-records",
                           f"records {cp.size}..{claim.at - 1} appended without a checkpoint "
                           f"(their checkpoint is for size {cp.size})")
            continue
        ok = claim.root == cp.root
        if cp.size > claim.at:
            try:
                merkle.verify_consistency(claim.at, cp.size, claim.root, cp.root,
                                          list(claim.proof))
                ok = True
            except Error as exc:
                report.problem(origin, claim.at, "consistency",
                               f"records [0, {claim.at}) are not a prefix of checkpoint size "
                               f"{cp.size}: {exc}")
                ok = False
        matches[claim.note] = matches.get(claim.note, True) and ok
    if item.held is not None:
        newest = max((c.size for c in parsed.values()), default=0)
        if truncated is not None:
            report.problem(origin, item.held, "truncated",
                           f"log truncated: a checkpoint signs size {truncated}, but records end "
                           f"at seq {item.held - 1}")
        if item.held > newest:
            report.problem(origin, newest, "unsigned-records",
                           f"records {newest}..{item.held - 1} appended without a checkpoint "
                           f"(newest checkpoint size {newest})")
    explained = _forks(report, origin, parsed, signed, matches)
    bad = sorted((parsed[n].size, n) for n, ok in matches.items() if not ok and n not in explained)
    if bad:
        good = [parsed[n].size for n, ok in matches.items() if ok and parsed[n].size < bad[0][0]]
        start = max(good, default=0)
        first = parsed[bad[0][1]]
        report.problem(origin, start, "records-root",
                       f"records do not hash to the signed root of {len(bad)} checkpoint(s), "
                       f"sizes {bad[0][0]}..{bad[-1][0]}; at size {first.size} the signed root "
                       f"is {first.root.hex()[:16]}…: a record in seq [{start}, {first.size}) "
                       "was changed, removed, reordered or inserted")


def _forks(report: Report, origin: str, parsed: dict[bytes, Checkpoint],
           signed: dict[bytes, SignedCheckpoint], matches: dict[bytes, bool]) -> set[bytes]:
    """Validly signed checkpoints that contradict each other; returns the notes explained."""
    explained: set[bytes] = set()
    by_size: dict[int, dict[bytes, bytes]] = {}
    for note in signed:
        cp = parsed[note]
        by_size.setdefault(cp.size, {}).setdefault(cp.root, note)
    for size, roots in sorted(by_size.items()):
        notes = list(roots.values())
        for other in notes[1:]:
            _fork(report, origin, size, notes[0], other, "checkpoints")
            explained.update((notes[0], other))
    honest = sorted((parsed[n].size, n) for n in signed if matches.get(n))
    for note in signed:
        if matches.get(note, True) or note in explained:
            continue
        size = parsed[note].size
        later = next((n for s, n in honest if s >= size), None)
        if later is not None:
            _fork(report, origin, size, later, note, "checkpoints")
            explained.add(note)
    return explained


def _fork(report: Report, origin: str, size: int, a: bytes, b: bytes, source: str) -> None:
    report.forks.append(ForkEvidence(origin, size, (_note_text(a), _note_text(b)), source))
    report.problem(origin, size, "fork",
                   f"two signed checkpoints of {origin} are not consistent at size {size} "
                   f"(forked history; both notes are printed as evidence)")
