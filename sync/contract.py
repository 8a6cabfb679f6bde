"""What the replication layer needs from the node it runs in: the node → sync contract.

sync never imports node (imports point downward), so the node hands sync an
object with these methods (node.wiring.StoreHost). Like Litestream's
ReplicaClient, each method says what it may raise and what the caller does
about it; sync relies on nothing else.

Every method is called with the replica's lock held (``Replica.lock``), from
whichever thread runs the servicer or the uplink, except the read-only ones
(``addressed_into``, ``revocations``), which the servicer's Hello and Pull also
call on a host over a read-only connection of their own (``Replica.snapshot``),
without the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from pki.revocation import RevocationSet
from protos.tongban.v1 import record_pb2

#: (rule id, reason in words) for a record its origin may not write; None when it may.
Judgement = tuple[str, str] | None

#: Where sync reports what it is doing, one line at a time (the CLI prints them); it must
#: not raise, because a failing progress line would abort a transfer.
Progress = Callable[[str], None]


class Host(Protocol):
    def transaction(self) -> AbstractContextManager[object]:
        """One write transaction on the node's database (BEGIN IMMEDIATE … COMMIT).

        Everything sync writes (records, checkpoints, receipts, certificates,
        deliveries) happens inside one; an exception leaving the block rolls
        all of it back and propagates. Opening may raise sqlite3.OperationalError
        (database locked past the busy timeout): the caller treats it like any
        refused batch — nothing was stored, the sender resends.
        """
        ...

    def ingest(self, origin: str, first_seq: int, records: Sequence[bytes]) -> None:
        """Append verified foreign records at ``first_seq`` and project them.

        Called inside ``transaction()``, after sync verified the records against
        the origin's signed checkpoint. May raise pki.errors.Error (the log's
        LogError when ``first_seq`` is not the stored size): the caller lets it
        propagate so the transaction rolls back and the batch is refused. A record
        whose author may not write it, or that the node's domain rules reject, must
        not raise: the node keeps it as evidence (authority_violations,
        projection_errors) and does not apply it, since the log, not the
        projection, is the truth.
        """
        ...

    def sign_own_tail(self) -> None:
        """Sign a checkpoint over the node's own records written since its last one, if any.

        The node signs checkpoints at a cadence, not per write, and a batch can
        only carry records a signed checkpoint covers: the uplink calls this at
        the start of every exchange. Takes its own write transaction; may raise
        sqlite3.OperationalError (database locked past the busy timeout).
        """
        ...

    def ingest_delivery(self, origin: str, seq: int, data: bytes) -> None:
        """Project one verified delivered record (sync.deliver already keeps its bytes).

        Called inside ``transaction()``; raising rolls the delivery back and the
        caller reports it refused. Domain rejections are noted, not raised, as
        for ``ingest``.
        """
        ...

    def addressed_into(self, subtree: str, after: dict[str, int]) -> list[tuple[str, int]]:
        """(origin, seq) of held records addressed into ``subtree`` that travel as deliveries.

        Only records from logs the subtree's root does not replicate (neither
        its own subtree's nor its ancestors'), and per origin only seq >=
        ``after[origin]`` (the child's delivery cursor), in (origin, seq) order.
        Read-only; may raise sqlite3.Error, which the caller reports as a failed
        call (the child retries).
        """
        ...

    def revocations(self) -> RevocationSet:
        """The revocations the node holds now (read afresh on every call).

        Read-only. A fresh set each call, since a revocation can arrive in any
        batch; sync never adds to it.
        """
        ...

    def now(self) -> datetime:
        """The time the node judges certificates at (timezone-aware, UTC).

        Must not raise. Receipts carry it, so it should be the wall clock; tests
        pin it.
        """
        ...


class RecordPolicy(Protocol):
    """Who may author what: the node's authority table, handed to the audit (node.authority).

    sync knows records, not cases or catalogues, so ``audit verify`` asks this
    object about each record's content; the node implements it with the same
    table its own writes and received records are judged by.
    """

    def reader(self, origin: str, first_seq: int) -> Callable[[record_pb2.Record], Judgement]:
        """A judge for ``origin``'s records, to be called once per record in seq order
        from ``first_seq``.

        Rules that depend on earlier records of the origin (its staff register) are
        judged only when ``first_seq`` is 0. Must not raise: a record it cannot judge
        is a violation (rule ``body-parse`` or ``unknown-kind``).
        """
        ...

    def learn(self, record: record_pb2.Record) -> None:
        """Take a verified record from outside the logs judged (a delivery) as a fact for
        the rules (a case's apply), judging nothing. Must not raise."""
        ...

    def finish(self, held: Callable[[str, int], bytes | None]
               ) -> list[tuple[str, int, str, str]]:
        """Called once after every log and delivery was read: (origin, seq, rule, message)
        of each record whose verdict needed another record and is a violation. ``held``
        gives the bytes of a record of the input by origin and seq (None if not held), so
        the policy need not remember every record it may need. Must not raise."""
        ...
