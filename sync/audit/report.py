"""What an audit found: problems and fork evidence, per origin and sequence number.

An audit keeps going after the first problem, because an auditor wants the
whole damage report in one run, so checks record findings here instead of
raising. Every finding names the origin, the sequence number (or None when the
finding is about a checkpoint or certificate rather than a record) and a check
name an auditor can look up in docs/auditors.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

#: Findings listed per (origin, check); the rest are counted, so one mass tampering
#: cannot bury the report under a million lines.
LIST_LIMIT = 50


@dataclass(frozen=True)
class Finding:
    origin: str
    seq: int | None
    check: str
    reason: str

    def line(self) -> str:
        where = "-" if self.seq is None else f"#{self.seq}"
        return f"{self.origin:<8} {where:<9} {self.check}: {self.reason}"


@dataclass(frozen=True)
class ForkEvidence:
    """Two signed notes of one origin that cannot both be true, printed verbatim."""

    origin: str
    size: int
    notes: tuple[str, str]
    source: str  # "checkpoints" or "forks table"


@dataclass
class OriginSummary:
    records: int = 0
    checkpoints: int = 0
    newest: int | None = None
    receipts: int = 0
    unconfirmed: int = 0  # checkpoints judged at "now" for want of a parent receipt


@dataclass
class Report:
    subject: str
    kind: str  # "database" or "bundle"
    problems: list[Finding] = field(default_factory=list)
    forks: list[ForkEvidence] = field(default_factory=list)
    origins: dict[str, OriginSummary] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    #: a bundle whose contents this audit could not decrypt, and why (not a problem:
    #: the sender's signature and chain were still checked)
    unreadable: str | None = None

    def problem(self, origin: str, seq: int | None, check: str, reason: str) -> None:
        self.counts[(origin, check)] += 1
        if self.counts[(origin, check)] <= LIST_LIMIT:
            self.problems.append(Finding(origin, seq, check, reason))

    def unlisted(self) -> dict[tuple[str, str], int]:
        return {k: n - LIST_LIMIT for k, n in self.counts.items() if n > LIST_LIMIT}

    def problem_count(self) -> int:
        return sum(self.counts.values())

    def origin(self, code: str) -> OriginSummary:
        return self.origins.setdefault(code, OriginSummary())

    @property
    def ok(self) -> bool:
        return not self.problems and not self.forks

    def sorted_problems(self) -> list[Finding]:
        return sorted(self.problems, key=lambda f: (f.origin, -1 if f.seq is None else f.seq))

    def records(self) -> int:
        return sum(o.records for o in self.origins.values())

    def to_json(self) -> dict:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "ok": self.ok,
            "records": self.records(),
            "origins": {code: asdict(s) for code, s in sorted(self.origins.items())},
            "problem_count": self.problem_count(),
            "problems": [asdict(f) for f in self.sorted_problems()],
            "forks": [asdict(f) for f in self.forks],
            "contents_unreadable": self.unreadable,
        }

    def text(self) -> str:
        lines = [f"audit of {self.subject} ({self.kind})"]
        for code, s in sorted(self.origins.items()):
            newest = "none" if s.newest is None else str(s.newest)
            extra = f", {s.unconfirmed} unconfirmed (judged at now)" if s.unconfirmed else ""
            lines.append(f"  origin {code}: {s.records} records, {s.checkpoints} checkpoints "
                         f"(newest size {newest}), {s.receipts} receipts{extra}")
        for fork in self.forks:
            lines.append(f"FORK {fork.origin} at size {fork.size} ({fork.source}):")
            for note in fork.notes:
                lines.extend("    " + part for part in note.rstrip("\n").split("\n"))
                lines.append("    ---")
        if self.problems:
            lines.append(f"{self.problem_count()} problems:")
            lines.extend("  " + f.line() for f in self.sorted_problems())
            for (origin, check), more in sorted(self.unlisted().items()):
                lines.append(f"  {origin:<8} ({more} more {check} problems not listed)")
        if self.unreadable is not None:
            lines.append(f"cannot read the contents: {self.unreadable}; checked the sender's "
                         "signature and certificate chain only")
        verdict = "verified" if self.ok else "NOT verified"
        if self.unreadable is not None:
            verdict += " (the sender only)"
        lines.append(f"{verdict}: {len(self.origins)} origins, {self.records()} records, "
                     f"{self.problem_count()} problems, {len(self.forks)} forks")
        return "\n".join(lines)
