"""Building and parsing Records, and the hybrid logical clock that orders them.

A Record is built once, by its origin, and from then on travels and is hashed
as those exact bytes. Parsing goes through ``parse_record`` so that protobuf
errors never leak: they become "malformed record: …".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from pki.errors import MalformedError
from protos.tongban.v1 import record_pb2

LOGICAL_BITS = 16
Body = TypeVar("Body", bound=Message)


def hlc_ms(hlc: int) -> int:
    """Wall-clock part of a hybrid-logical-clock value, in unix milliseconds."""
    return hlc >> LOGICAL_BITS


def show_ms(ms: int, tz: tzinfo = UTC, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time for people, in ``tz``: the one formatter every reader of stored times uses.

    Never raises, whatever the value: a broken clock (or a hostile peer) can
    leave a record dated year 9999, 0001 or 2^64 ms, and a time past the
    calendar's ends is shown as the end it passed instead of crashing the reader.
    """
    try:
        return datetime.fromtimestamp(ms / 1000, tz).strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return "after 9999" if ms > 0 else "before 0001"


@dataclass
class HybridClock:
    """Hybrid logical clock (Kulkarni et al.): never goes backwards, tracks wall time.

    A county's clock may be wrong; the HLC keeps its own records ordered anyway
    and moves past any time it has seen from a peer.
    """

    last: int = 0

    def tick(self, wall_ms: int) -> int:
        self.last = max(wall_ms << LOGICAL_BITS, self.last + 1)
        return self.last

    def observe(self, remote_hlc: int, ceiling: int | None = None) -> bool:
        """Move past a peer's time, but never past ``ceiling`` (local wall time plus a bound).

        Returns False when the remote time lies beyond the ceiling: one far-future
        record from any node would otherwise drag every receiver's clock, and so
        its case numbers and deadlines, forward for ever. The caller flags it.
        """
        if ceiling is not None and remote_hlc > ceiling:
            self.last = max(self.last, ceiling)
            return False
        self.last = max(self.last, remote_hlc)
        return True


def build_record(
    origin: str, seq: int, hlc: int, kind: record_pb2.Kind, body: bytes, recipient: str = ""
) -> bytes:
    return record_message(origin, seq, hlc, kind, body, recipient).SerializeToString()


def record_message(
    origin: str, seq: int, hlc: int, kind: record_pb2.Kind, body: bytes, recipient: str = ""
) -> record_pb2.Record:
    """The Record before it becomes bytes: a writer that serialises it once projects this
    message instead of parsing its own bytes back."""
    return record_pb2.Record(
        origin=origin, seq=seq, hlc=hlc, kind=kind, recipient=recipient, body=body
    )


def parse_record(data: bytes) -> record_pb2.Record:
    record = record_pb2.Record()
    try:
        record.ParseFromString(data)
    except DecodeError as exc:
        raise MalformedError("record", str(exc)) from exc
    return record


def parse_body(message_type: type[Body], data: bytes, what: str) -> Body:
    """Parse a record body into ``message_type`` or raise "malformed <what>: …"."""
    message = message_type()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise MalformedError(what, str(exc)) from exc
    return message
