"""The base catalogue (基本目录): base items published by the national node and provinces.

A base item is what every level shares about a matter: its base code, name,
type, legal basis and exercising levels (node.catalogue_schema.BASE_ELEMENTS).
It is a BASE_ITEM_PUBLISHED record (kind 50) in the publisher's log and
flows down with it like everything else; implementation items name it and are
compared with it by node.base_check. Versions work as for matters: an
unchanged item writes nothing, a changed one is a new version, and retiring
is a new version marked retired.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from node import base_check
from node.catalogue_file import (
    MAX_CATALOGUE_BYTES,
    item_label,
    load_file,
    sample_catalogue_path,
)
from node.catalogue_schema import BASE_ELEMENTS, CatalogueError, read_elements
from node.store import Draft, NodeStore
from pki.errors import InputError, MalformedError
from pki.files import read_file
from protos.tongban.v1 import record_pb2


def parse_base(item: Any, *, version: int = 1) -> record_pb2.BaseItem:
    """Check one base item and build its record body; CatalogueError names item and element."""
    if not isinstance(item, dict):
        raise CatalogueError(f"bad base item: want a table/object, got {type(item).__name__}")
    label = item_label(item)

    def fail(element: str, why: str) -> CatalogueError:
        return CatalogueError(f"base item {label}: {element} {why}" if element
                              else f"base item {label}: {why}")
    fields = read_elements(item, BASE_ELEMENTS, fail, None)
    if fields["main_item"] == "(the name)":
        fields["main_item"] = fields["name"]
    return record_pb2.BaseItem(version=version, **fields)


def load_base_file(path: str | Path) -> list[dict]:
    """The ``[[base]]`` tables of a TOML file, or a JSON list (or ``{"base": [...]}``)."""
    path = Path(path)
    what = f"base catalogue file {path}"
    raw = read_file(path, "base catalogue file", limit=MAX_CATALOGUE_BYTES)
    try:
        text = raw.decode("utf-8-sig")
        data: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except UnicodeDecodeError as exc:
        raise MalformedError(what, f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise MalformedError(what, str(exc)) from exc
    items = data.get("base") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise MalformedError(what, "want an array of tables [[base]] (or a JSON list of objects)")
    return items


def sample_base() -> list[dict]:
    """The base items behind the shipped sample list: each sample item's code, name, type
    and legal basis, exercised at 省级, 市级 and 县级 (and the item's own level)."""
    out = []
    for item in load_file(sample_catalogue_path()):
        levels = ["省级", "市级", "县级"] + ([item["level"]] if item["level"] == "乡级" else [])
        out.append({"base_code": item["base_code"], "name": item["name"], "type": item["type"],
                    "legal_basis": item["legal_basis"], "levels": ",".join(levels),
                    "main_item": item.get("main_item", item["name"]),
                    "sub_item": item.get("sub_item", "")})
    return out


def _draft(body: record_pb2.BaseItem) -> Draft:
    return Draft.of_body(record_pb2.BASE_ITEM_PUBLISHED, body.SerializeToString())


def prepare(store: NodeStore, item: dict | record_pb2.BaseItem
            ) -> tuple[record_pb2.BaseItem, str]:
    """The next version of a base item and its status ("new", "changed", "unchanged")."""
    candidate = item if isinstance(item, record_pb2.BaseItem) else parse_base(item)
    old = base_check.newest(store.db, store.division, candidate.base_code)
    if old is None:
        candidate.version = 1
        return candidate, "new"
    same = (candidate.name, candidate.type, candidate.legal_basis, tuple(candidate.levels),
            candidate.main_item, candidate.sub_item) == (old.name, old.type, old.legal_basis,
                                                         old.levels, old.main_item, old.sub_item)
    if same and not old.retired and not candidate.retired:
        candidate.version = old.version
        return candidate, "unchanged"
    candidate.version = old.version + 1
    return candidate, "changed"


def publish(store: NodeStore, items: list[dict]) -> list[tuple[str, int, str]]:
    """Check every item, then write the new and changed ones in one transaction, or none."""
    results: list[tuple[str, int, str]] = []
    drafts: list[Draft] = []
    seen: set[str] = set()
    for item in items:
        body, status = prepare(store, item)
        if body.base_code in seen:
            raise InputError(f"base item {body.base_code} appears twice in the input")
        seen.add(body.base_code)
        results.append((body.base_code, body.version, status))
        if status != "unchanged":
            drafts.append(_draft(body))
    if drafts:
        store.write(drafts)
    return results


def retire_body(store: NodeStore, base_code: str, reason: str) -> record_pb2.BaseItem:
    """The retired version of this node's base item ``base_code`` (not yet written)."""
    old = base_check.newest(store.db, store.division, base_code)
    if old is None:
        raise InputError(f"{store.division} publishes no base item {base_code}: see "
                         "'tongban matter base list'")
    if old.retired:
        raise InputError(f"base item {base_code} is already retired")
    if not reason.strip():
        raise InputError("retiring a base item needs a reason")
    return record_pb2.BaseItem(base_code=base_code, version=old.version + 1, name=old.name,
                               type=old.type, legal_basis=old.legal_basis, levels=old.levels,
                               main_item=old.main_item, sub_item=old.sub_item, retired=True,
                               reason=reason.strip())


def retire(store: NodeStore, base_code: str, reason: str) -> record_pb2.BaseItem:
    body = retire_body(store, base_code, reason)
    store.write([_draft(body)])
    return body
