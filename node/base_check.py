"""四级四同: an implementation item against its base item (基本目录), read from the tables.

The national node and the provinces publish base items (BASE_ITEM_PUBLISHED);
every implementation item that is not ``local`` names one by ``base_code`` and
shares four of its elements: the code itself, the name, the type and the
legal basis (同一编码、同一名称、同一类型、同一依据); its level must also be one
of the base item's exercising levels.

Which base item applies to an item is decided at read time, from the base
items of the publisher's own line held here: the national node's entry wins
over a province's (a province publishes only what the national catalogue
lacks), and the newest version counts. Deviations are computed when asked for,
never stored: a base item may get a new version after a county published, and
records of different origins arrive in any order, so a verdict stored at
projection time would depend on arrival order. Own writes are refused
(projection's strict path calls ``require_same``); received items that differ
are projected (the county's cases under them are real) and listed by
``tongban matter check`` and ``tongban problems``.

A node that holds no base item at all checks nothing: a county loading its
list before the first sync must not be blocked; the check runs once the base
catalogue arrives.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass

from google.protobuf.json_format import ParseDict

from pki.division import NATIONAL, in_subtree, is_ancestor
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

#: The elements an implementation item shares with its base item, in the order checked.
SHARED = ("base_code", "name", "type", "legal_basis", "level")


class BaseMismatch(InputError):
    """An own implementation item that differs from its base item (rule four-same)."""


@dataclass(frozen=True)
class Base:
    origin: str
    base_code: str
    version: int
    name: str
    type: str
    legal_basis: str
    levels: tuple[str, ...]
    main_item: str
    sub_item: str
    retired: bool
    reason: str


@dataclass(frozen=True)
class Deviation:
    publisher: str
    impl_code: str
    version: int
    base_code: str
    element: str
    item_value: str
    base_value: str
    base_publisher: str
    base_version: int

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        if self.base_publisher == "":
            return (f"matter {self.impl_code}: base_code {self.base_code} is not in the base "
                    f"catalogue held here (mark the item local = true for a 地方特色事项, or "
                    f"propose the base item: tongban matter propose)")
        if self.element == "retired":
            return (f"matter {self.impl_code}: base item {self.base_code} was retired by "
                    f"{self.base_publisher} (v{self.base_version}: {self.base_value})")
        want = "one of" if self.element == "level" else ""
        return (f"matter {self.impl_code}: {self.element} {self.item_value!r} differs from base "
                f"item {self.base_code} v{self.base_version} of {self.base_publisher} "
                f"({want + ' ' if want else ''}{self.base_value!r}) (四级四同)")


def _base(row: tuple) -> Base:
    origin, code, version, name, type_, basis, levels, main, sub, retired, reason = row
    return Base(origin, code, version, name, type_, basis, tuple(json.loads(levels)), main, sub,
                bool(retired), reason or "")


_COLUMNS = ("origin, base_code, version, name, type, legal_basis, levels, main_item, sub_item,"
            " retired, reason")


def holds_base_catalogue(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM base_items LIMIT 1").fetchone() is not None


def newest(db: sqlite3.Connection, origin: str, base_code: str) -> Base | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM base_items WHERE origin = ? AND base_code = ?"
                     " ORDER BY version DESC LIMIT 1", (origin, base_code)).fetchone()
    return None if row is None else _base(row)


def base_for(db: sqlite3.Connection, publisher: str, base_code: str) -> Base | None:
    """The base item that applies to ``publisher``'s items of ``base_code``, or None."""
    return _Resolver(db).base_for(publisher, base_code)


class _Resolver:
    """base_for with the base items of each code read once (a check over a subtree asks
    about the same few hundred codes for every county)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._by_code: dict[str, dict[str, Base]] = {}

    def base_for(self, publisher: str, base_code: str) -> Base | None:
        if base_code not in self._by_code:
            self._by_code[base_code] = {}
            for row in self.db.execute(f"SELECT {_COLUMNS} FROM base_items WHERE base_code = ?"
                                       " ORDER BY version", (base_code,)):
                self._by_code[base_code][row[0]] = _base(row)  # the newest version last
        held = self._by_code[base_code]
        origins = [o for o in held if o == publisher or is_ancestor(o, publisher)]
        if not origins:
            return None
        return held[NATIONAL if NATIONAL in origins else min(origins)]


def listed(db: sqlite3.Connection) -> list[Base]:
    """The newest version of every base item held, by code and publisher."""
    return [_base(row) for row in db.execute(
        f"SELECT {_COLUMNS} FROM base_items b WHERE version = (SELECT max(version) FROM"
        " base_items WHERE origin = b.origin AND base_code = b.base_code)"
        " ORDER BY base_code, origin")]


def deviations(db: sqlite3.Connection, publisher: str, matter: record_pb2.Matter,
               resolver: _Resolver | None = None) -> list[Deviation]:
    """How ``matter`` differs from its base item (empty: it does not, or nothing to check)."""
    if matter.local or (resolver is None and not holds_base_catalogue(db)):
        return []
    base = (resolver or _Resolver(db)).base_for(publisher, matter.base_code)

    def deviation(element: str, item_value: str, base_value: str) -> Deviation:
        return Deviation(publisher, matter.impl_code, matter.version, matter.base_code,
                         element, item_value, base_value, base.origin if base else "",
                         base.version if base else 0)
    if base is None:
        return [deviation("base_code", matter.base_code, "")]
    if base.retired:
        return [deviation("retired", matter.base_code, base.reason)]
    out = [deviation(element, getattr(matter, element), getattr(base, element))
           for element in ("name", "type", "legal_basis")
           if getattr(matter, element) != getattr(base, element)]
    if matter.level not in base.levels:
        out.append(deviation("level", matter.level, ",".join(base.levels)))
    return out


def require_same(db: sqlite3.Connection, publisher: str, matter: record_pb2.Matter) -> None:
    """Refuse an own item that differs from its base item, naming the first element."""
    found = deviations(db, publisher, matter)
    if found:
        raise BaseMismatch(found[0].line())


def check(db: sqlite3.Connection, division: str | None, *, subtree: bool) -> list[Deviation]:
    """Every deviation of the newest version of each item published by ``division`` (or,
    with ``subtree``, by any node of its subtree; None: every item held), retired items
    left out."""
    out: list[Deviation] = []
    if not holds_base_catalogue(db):
        return out
    resolver = _Resolver(db)
    for origin, data in db.execute(
            "SELECT origin, data FROM matters m WHERE retired = 0 AND version = (SELECT"
            " max(version) FROM matters WHERE origin = m.origin AND impl_code = m.impl_code)"
            " ORDER BY impl_code, origin"):
        if division is None or origin == division or (subtree and in_subtree(division, origin)):
            matter = ParseDict(json.loads(data), record_pb2.Matter())
            out += deviations(db, origin, matter, resolver)
    return out
