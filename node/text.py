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

import re

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from node.authority import TABLE
from pki.errors import InputError

#: Bidi embeddings, overrides and isolates, and the Arabic letter mark: they reorder
#: what is shown without being seen themselves.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: C0 and C1 controls, the bidi characters and unpaired surrogates; as a regular expression
#: because every record this node writes passes through it (one C scan, not a Python
#: loop per character). Tab and newline are allowed in stored text (``_UNSAFE``), escaped
#: in a table cell or an error line (``_UNSAFE_IN_LINE``).
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_UNSAFE_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")


class TextError(InputError):
    """Text holding a control character, a bidi override or an unpaired surrogate."""


def check_text(value: str, what: str) -> str:
    """``value`` unchanged, or a TextError naming the field and the first bad character."""
    bad = _UNSAFE.search(value)
    if bad:
        raise TextError(f"{what} holds the control character U+{ord(bad.group()):04X}; "
                        "retype it without control or direction characters")
    return value


def check_message_text(message: Message, what: str) -> None:
    """Every string field of ``message``, nested messages and repeated fields included.

    Every record this node writes passes here: its strings are searched as one text
    (joined by a newline, which they may hold anyway), and only a message holding an
    unsafe character is walked field by field to name the first one.
    """
    if _UNSAFE.search("\n".join(_strings(message, []))):
        _check_fields(message, what)


def _strings(message: Message, out: list[str]) -> list[str]:
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                out.extend(value)
            else:
                out.append(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value if field.is_repeated else [value]:
                _strings(item, out)
    return out


def _check_fields(message: Message, what: str) -> None:
    for field, value in message.ListFields():
        name = f"{what}.{field.name}"
        values = value if field.is_repeated else [value]
        for item in values:
            if field.type == FieldDescriptor.TYPE_STRING:
                check_text(item, name)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                _check_fields(item, name)


def check_record_text(kind: int, body: bytes) -> None:
    """Refuse an own record whose body holds unsafe text (see module docstring).

    A body of an unknown kind, or one that does not parse, is left to the
    authority table, which refuses it right after with its own rule.
    """
    rule = TABLE.get(kind)
    if rule is None:
        return
    try:
        message = rule.body.FromString(body)
    except DecodeError:
        return
    check_message_text(message, rule.body.__name__)


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with every unsafe character written as an escape (``\\x1b``, ``\\u202e``);
    with ``newlines=False`` tab and newline are escaped too (a table cell, an error line)."""
    unsafe = _UNSAFE if newlines else _UNSAFE_IN_LINE
    if not unsafe.search(text):
        return text
    return unsafe.sub(lambda bad: _escape(bad.group()), text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
