"""Licence types (证照类型): the small catalogue that catalogue items' results and materials name.

A matter's ``result`` says which type its cases produce; a material's
``licence_type`` says which type satisfies it (免证办). Both are checked
against this list when an item is parsed, so a typo cannot create a licence
nobody can cite. The list ships with the node (node/data/licence_types.toml);
the type name and validity travel inside every Matter record, so a node that
receives an item needs no copy of the list to issue or verify its licences.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pki.errors import InputError

_CODE = re.compile(r"^[0-9A-Z]{2,21}$")


@dataclass(frozen=True)
class LicenceType:
    code: str
    name: str
    holder: str


class UnknownLicenceType(InputError):
    pass


@cache
def known_types() -> dict[str, LicenceType]:
    text = resources.files("node").joinpath("data", "licence_types.toml").read_text("utf-8")
    types = {}
    for entry in tomllib.loads(text)["types"]:
        if not _CODE.match(entry["code"]):
            raise InputError(f"licence type code {entry['code']!r}: want 2-21 capital letters "
                             "and digits")
        types[entry["code"]] = LicenceType(entry["code"], entry["name"], entry["holder"])
    return types


def licence_type(code: str) -> LicenceType:
    found = known_types().get(code)
    if found is None:
        raise UnknownLicenceType(f"unknown licence type {code!r}: known types are "
                                 + ", ".join(f"{t.code} {t.name}" for t in known_types().values()))
    return found
