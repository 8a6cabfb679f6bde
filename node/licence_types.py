"""Licence types (证照类型): the small catalogue that catalogue items' results and materials name.

A matter's ``result`` says which type its cases produce; a material's
``licence_type`` says which type satisfies it (免证办). Both are checked
against the types a node knows when an item is parsed, so a typo cannot
create a licence nobody can cite.

The types are records of their own, published downward like matters: the
national node (or a province, for types of its own) writes one
LICENCE_TYPE_PUBLISHED record per type (``tongban licence types publish``;
its initial publication is the shipped node/data/licence_types.toml), and
every node below receives them with its ancestors' logs into the
licence_types table. A node that holds no publication yet falls back to the
shipped file, so a freshly enrolled county can load its catalogue before its
first sync. The type name and validity also travel inside every Matter
record, so a node that receives an item needs no copy of the list to issue
or verify its licences.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from node.store import Draft, NodeStore
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

_CODE = re.compile(r"^[0-9A-Z]{2,21}$")
SHIPPED = "shipped node/data/licence_types.toml"


@dataclass(frozen=True)
class LicenceType:
    code: str
    name: str
    holder: str


class UnknownLicenceType(InputError):
    pass


def parse_types(text: str, where: str) -> dict[str, LicenceType]:
    try:
        entries = tomllib.loads(text).get("types")
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not TOML ({exc})") from exc
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{where}: want a [[types]] list of {{code, name, holder}}")
    types: dict[str, LicenceType] = {}
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"code", "name", "holder"} \
                or not all(isinstance(v, str) and v.strip() for v in entry.values()):
            raise InputError(f"{where}: each type needs exactly code, name and holder (text)")
        if not _CODE.match(entry["code"]):
            raise InputError(f"{where}: licence type code {entry['code']!r}: want 2-21 capital "
                             "letters and digits")
        if entry["code"] in types:
            raise InputError(f"{where}: licence type {entry['code']} is listed twice")
        types[entry["code"]] = LicenceType(entry["code"], entry["name"].strip(),
                                           entry["holder"].strip())
    return types


@cache
def shipped_types() -> dict[str, LicenceType]:
    text = resources.files("node").joinpath("data", "licence_types.toml").read_text("utf-8")
    return parse_types(text, SHIPPED)


def published_types(db: sqlite3.Connection) -> dict[str, LicenceType]:
    return {code: LicenceType(code, name, holder) for code, name, holder in db.execute(
        "SELECT code, name, holder FROM licence_types ORDER BY code")}


def known_types(db: sqlite3.Connection | None = None) -> dict[str, LicenceType]:
    """The published types this node holds; the shipped file until the first arrives."""
    return (published_types(db) if db is not None else {}) or shipped_types()


def licence_type(code: str, types: Mapping[str, LicenceType] | None = None) -> LicenceType:
    known = shipped_types() if types is None else types
    found = known.get(code)
    if found is None:
        raise UnknownLicenceType(f"unknown licence type {code!r}: known types are "
                                 + ", ".join(f"{t.code} {t.name}" for t in known.values()))
    return found


@dataclass(frozen=True)
class TypeListing:
    source: str                     # "published" or the shipped file
    types: list[dict]


def listing(db: sqlite3.Connection) -> TypeListing:
    rows = db.execute("SELECT code, name, holder, origin, seq FROM licence_types"
                      " ORDER BY code").fetchall()
    if rows:
        return TypeListing("published", [
            {"code": c, "name": n, "holder": h, "published_by": f"{o}#{s}"}
            for c, n, h, o, s in rows])
    return TypeListing(SHIPPED, [{"code": t.code, "name": t.name, "holder": t.holder,
                                  "published_by": ""} for t in shipped_types().values()])


def publish(store: NodeStore, path: Path | None = None) -> tuple[int, int]:
    """Publish the types in ``path`` (default: the shipped file); (published, unchanged).

    A type whose code, name and holder this node already published writes
    nothing, so publishing the same file twice is harmless.
    """
    if path is None:
        types = shipped_types()
    else:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read licence types file {path}: {exc}") from exc
        types = parse_types(text, str(path))
    mine = {code: LicenceType(code, name, holder) for code, name, holder in store.db.execute(
        "SELECT code, name, holder FROM licence_types WHERE origin = ?", (store.division,))}
    new = [t for t in types.values() if mine.get(t.code) != t]
    if new:
        store.write([Draft.of_body(record_pb2.LICENCE_TYPE_PUBLISHED, record_pb2.LicenceType(
            code=t.code, name=t.name, holder=t.holder).SerializeToString()) for t in new])
    return len(new), len(types) - len(new)
