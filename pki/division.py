"""GB/T 2260 division codes and the ancestry the subtree rule is built on.

A six-digit code PPCCDD names a province (CCDD = 0000), a prefecture (DD = 00)
or a county; the 12-digit statistical form adds TTT (township) and VVV
(village). 000000 is the national node and the ancestor of every code.
Ancestry is by prefix, so a county whose prefecture runs no node still sits
inside its province's subtree.

``validate`` checks the shape only (it is applied to every code read back from
a log or a certificate); ``require_known`` also checks the code against the
GB/T 2260 list the node ships, python-stdnum's ``cn/loc`` (newest entries
include Xinjiang's 白杨市 659012, 2022), and is applied where a code is typed in:
``init --division``, ``notice send --to``, the subject of ``pki issue``. A code
abolished in that list ("[-YYYY]") is refused for new use with its year. The
list has no townships or villages: a 12-digit code is known when its county is.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum

from stdnum import numdb

from pki.errors import InputError

NATIONAL = "000000"

_CODE = re.compile(r"^(\d{6}|\d{12})$")


class Level(StrEnum):
    NATIONAL = "national"
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class DivisionError(InputError):
    pass


def validate(code: str) -> str:
    """Return the code if it is a well-formed division code, else raise DivisionError."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise DivisionError(
            f"bad division code {code!r}: want 6 digits (GB/T 2260, e.g. 540102) "
            "or the 12-digit statistical form"
        )
    if code == NATIONAL:
        return code
    if code[:2] == "00":
        raise DivisionError(f"bad division code {code!r}: province part 00 is only valid in 000000")
    if len(code) == 6 and code[2:4] == "00" and code[4:6] != "00":
        raise DivisionError(f"bad division code {code!r}: a county code needs a prefecture part")
    if len(code) == 12:
        validate(code[:6])
        if code[:6] == NATIONAL or code[4:6] == "00":
            raise DivisionError(f"bad division code {code!r}: a township lies inside a county")
        if code[6:9] == "000" and code[9:] != "000":
            raise DivisionError(f"bad division code {code!r}: a village needs a township part")
    return code


@functools.lru_cache(maxsize=4096)
def listed(code: str) -> tuple[str, int | None] | None:
    """(name, year abolished or None) of a six-digit code in the shipped GB/T 2260 list,
    or None when the list does not hold it."""
    parts = numdb.get("cn/loc").info(code)
    if len(parts) < 2 or "county" not in parts[-1][1]:
        return None
    province = parts[0][1].get("province", "")
    newest = parts[-1][1]["county"].split(",")[-1]
    abolished = None
    if newest.startswith("["):
        years, newest = newest[1:].split("]", 1)
        end = years.split("-")[1]
        abolished = int(end) if end else None
    name = newest if newest == province else province + newest
    return name, abolished


def require_known(code: str, what: str = "division code") -> str:
    """``code`` if it is 000000 or a current GB/T 2260 code, else a DivisionError."""
    validate(code)
    if code == NATIONAL:
        return code
    entry = listed(code[:6])
    if entry is None:
        raise DivisionError(f"unknown {what} {code}: not in the GB/T 2260 list this node ships "
                            "(python-stdnum cn/loc); check the code")
    name, abolished = entry
    if abolished is not None:
        raise DivisionError(f"{what} {code} ({name}) was abolished in {abolished}: "
                            "use the code that replaced it")
    return code


def level(code: str) -> Level:
    validate(code)
    if code == NATIONAL:
        return Level.NATIONAL
    if len(code) == 12:
        return Level.TOWNSHIP if code[9:] == "000" else Level.VILLAGE
    if code[2:] == "0000":
        return Level.PROVINCE
    if code[4:] == "00":
        return Level.PREFECTURE
    return Level.COUNTY


def subtree_prefix(code: str) -> str:
    """The significant prefix: every code in this division's subtree starts with it."""
    lv = level(code)
    return {
        Level.NATIONAL: "",
        Level.PROVINCE: code[:2],
        Level.PREFECTURE: code[:4],
        Level.COUNTY: code[:6],
        Level.TOWNSHIP: code[:9],
        Level.VILLAGE: code,
    }[lv]


def ancestors(code: str) -> list[str]:
    """Proper ancestors, nearest first, ending with 000000."""
    lv = level(code)
    out: list[str] = []
    if lv is Level.VILLAGE:
        out.append(code[:9] + "000")
    if lv in (Level.VILLAGE, Level.TOWNSHIP):
        out.append(code[:6])
    if lv in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY):
        out.append(code[:4] + "00")
    if lv is not Level.NATIONAL and lv is not Level.PROVINCE:
        out.append(code[:2] + "0000")
    if lv is not Level.NATIONAL:
        out.append(NATIONAL)
    return [c for i, c in enumerate(out) if c != code and c not in out[:i]]


def is_ancestor(ancestor: str, descendant: str) -> bool:
    """True when ``descendant`` lies strictly inside ``ancestor``'s subtree."""
    validate(ancestor)
    validate(descendant)
    if ancestor == descendant:
        return False
    if ancestor == NATIONAL:
        return True
    if len(ancestor) > len(descendant):
        return False
    return descendant.startswith(subtree_prefix(ancestor))


def in_subtree(root: str, code: str) -> bool:
    """True when ``code`` is ``root`` itself or lies inside its subtree."""
    return root == code or is_ancestor(root, code)
