"""Text that is safe to store and safe to show.

Names, reasons and notice texts are typed by window staff and arrive from other
nodes; some of them end up on an operator's terminal. A terminal control
sequence (``\\x1b[31m``), a carriage return that overwrites a line, or a bidi
override that shows a name backwards are refused when this node writes a
record (``check_record_text``), and escaped on every output (``printable``)
because records from other nodes were written by code we do not control.
Tab and newline are the two controls ordinary text may hold.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from pki.errors import InputError
from protos.tongban.v1 import record_pb2

#: Bidi embeddings, overrides and isolates, and the Arabic letter mark: they reorder
#: what is shown without being seen themselves.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_CONTROLS = frozenset("\t\n")

#: The body message of each record kind this node writes.
BODIES: dict[int, type[Message]] = {
    record_pb2.MATTER_PUBLISHED: record_pb2.Matter,
    record_pb2.MATTER_RETIRED: record_pb2.MatterRetired,
    record_pb2.CASE_EVENT: record_pb2.CaseEvent,
    record_pb2.LICENCE_ISSUED: record_pb2.Licence,
    record_pb2.LICENCE_REVOKED: record_pb2.LicenceRevoked,
    record_pb2.CERT_ISSUED: record_pb2.CertIssued,
    record_pb2.CERT_REVOKED: record_pb2.CertRevoked,
    record_pb2.CALENDAR_NOTICE: record_pb2.CalendarNotice,
    record_pb2.POLICY_NOTICE: record_pb2.PolicyNotice,
    record_pb2.MATTER_CHANGE_REQUEST: record_pb2.Matter,
    record_pb2.KEY_ROTATED: record_pb2.KeyRotated,
    record_pb2.LICENCE_TYPE_PUBLISHED: record_pb2.LicenceType,
}


class TextError(InputError):
    """Text holding a control character, a bidi override or an unpaired surrogate."""


def _unsafe(ch: str, *, newlines: bool) -> bool:
    code = ord(ch)
    if ch in _ALLOWED_CONTROLS:
        return not newlines
    return (code < 0x20 or 0x7F <= code <= 0x9F or ch in _BIDI
            or 0xD800 <= code <= 0xDFFF)


def check_text(value: str, what: str) -> str:
    """``value`` unchanged, or a TextError naming the field and the first bad character."""
    for ch in value:
        if _unsafe(ch, newlines=True):
            raise TextError(f"{what} holds the control character U+{ord(ch):04X}; "
                            "retype it without control or direction characters")
    return value


def check_message_text(message: Message, what: str) -> None:
    """Every string field of ``message``, nested messages and repeated fields included."""
    for field, value in message.ListFields():
        name = f"{what}.{field.name}"
        values = value if field.is_repeated else [value]
        for item in values:
            if field.type == FieldDescriptor.TYPE_STRING:
                check_text(item, name)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                check_message_text(item, name)


def check_record_text(kind: int, body: bytes) -> None:
    """Refuse an own record whose body holds unsafe text (see module docstring)."""
    message_class = BODIES.get(kind)
    if message_class is not None:
        check_message_text(message_class.FromString(body), message_class.__name__)


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with every unsafe character written as an escape (``\\x1b``, ``\\u202e``);
    with ``newlines=False`` tab and newline are escaped too (a table cell, an error line)."""
    if not any(_unsafe(ch, newlines=newlines) for ch in text):
        return text
    return "".join(_escape(ch) if _unsafe(ch, newlines=newlines) else ch for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
