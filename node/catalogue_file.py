"""Catalogue files: reading and checking implementation-list entries (政务服务事项).

This module knows the file format and the rules of one item; it never touches
a node. What a node has published (versions, retirement, look-up) is
node.matters.

An item is the promise a county makes to every applicant — what it does, on
which legal basis, with which materials, within how many working days — and it
is published down and replicated everywhere, so a mistake in it is a mistake in
every case handled under it. Every element is therefore checked before an item
becomes a record, and each problem names the item and the element.

File format: every element, its type, default and rule is in
node.catalogue_schema (printed as docs/catalogue.md by ``python -m
ops.gendocs``); this module reads files and drives an item through that
schema, so there is one copy of each rule.

Code rules. 基本编码 (base_code) is 6–20 capital letters and digits: the national
basic catalogue uses 12-digit codes, several provinces a type prefix such as XK
followed by main- and sub-item numbers; we check the shape, not the register.
实施编码 (impl_code) is 8–40 capital letters and digits, optionally in groups
joined by single hyphens: national-platform codes run to 30-odd characters
(implementing body's credit code plus base code and a level or sequence part),
while county catalogues also use short readable codes such as 540102-XK-001.
Both are kept as strings, since leading zeros are part of the code.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from stdnum.cn import uscc

from node.catalogue_schema import (
    CROSS_RULES,
    ELEMENTS,
    TYPES,
    CatalogueError,
    read_elements,
    to_matter,
)
from node.licence_types import LicenceType
from pki.errors import MalformedError
from pki.files import read_file
from protos.tongban.v1 import record_pb2

__all__ = ["TYPES", "CatalogueError", "load_file", "parse_matter", "sample_catalogue",
           "sample_catalogue_path"]

#: A county's whole implementation list is well under a megabyte.
MAX_CATALOGUE_BYTES = 16 * 1024 * 1024


def parse_matter(item: dict, *, version: int = 1,
                 types: Mapping[str, LicenceType] | None = None) -> record_pb2.Matter:
    """Check one item and build its Matter; raise CatalogueError naming item and element.

    ``types`` are the licence types the node knows (node.licence_types.known_types);
    without them, the shipped list.
    """
    if not isinstance(item, dict):
        raise CatalogueError(f"bad catalogue item: want a table/object, got {type(item).__name__}")
    label = item_label(item)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CatalogueError(f"matter {label}: version {version!r}: want an integer >= 1")

    def fail(element: str, why: str) -> CatalogueError:
        return CatalogueError(f"matter {label}: {element} {why}" if element
                              else f"matter {label}: {why}")

    if "version" in item:
        raise fail("version", "is not a file element: the publisher assigns versions")
    fields = read_elements(item, ELEMENTS, fail, types)
    for rule in CROSS_RULES:
        rule.check(fields, fail)
    return to_matter(fields, version)


def load_file(path: str | Path) -> list[dict]:
    """Read the items of a TOML or JSON catalogue file (not yet checked: see parse_matter)."""
    path = Path(path)
    what = f"catalogue file {path}"
    raw = read_file(path, "catalogue file", limit=MAX_CATALOGUE_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedError(what, f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    if path.suffix.lower() == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MalformedError(what, str(exc)) from exc
        items = data.get("matters")
        if not isinstance(items, list):
            raise MalformedError(what, "want an array of tables [[matters]]")
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise MalformedError(what, f"{exc.msg} at {where}") from exc
        if isinstance(data, dict) and set(data) == {"matters"}:
            data = data["matters"]
        items = data if isinstance(data, list) else [data]
    else:
        raise MalformedError(what, f"unknown extension {path.suffix!r}: want .toml or .json")
    for index, entry in enumerate(items):
        if not isinstance(entry, dict):
            raise MalformedError(
                what, f"item {index + 1} is a {type(entry).__name__}, want a table/object"
            )
    return items


def sample_catalogue_path() -> Path:
    """The shipped example implementation list of 拉萨市城关区 (package data)."""
    return Path(str(resources.files("node").joinpath("data", "sample_catalogue.toml")))


#: The division whose codes and credit codes the shipped sample uses.
SAMPLE_DIVISION = "540102"


def sample_catalogue(division: str) -> list[dict]:
    """The sample as ``division`` would publish it: implementation codes in its namespace
    and implementing bodies' credit codes in its division (check character recomputed).

    A code's namespace is its publisher's (node.authority), so every node that
    loads the sample gets items of its own; names and everything else are kept.
    """
    items = load_file(sample_catalogue_path())
    for item in items:
        item["impl_code"] = division + item["impl_code"][len(SAMPLE_DIVISION):]
        if "theme_members" in item:
            item["theme_members"] = [division + code[len(SAMPLE_DIVISION):]
                                     for code in item["theme_members"]]
        head = item["body_uscc"][:2] + division[:6] + item["body_uscc"][8:17]
        item["body_uscc"] = head + uscc.calc_check_digit(head)
    return items


def item_label(item: dict) -> str:
    for key in ("impl_code", "base_code", "name"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "(no impl_code)"
