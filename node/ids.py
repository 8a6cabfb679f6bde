"""Applicant identifiers: resident ID numbers (GB 11643) and credit codes (GB 32100).

A case names its applicant by the one number the person or organisation carries
everywhere, so the number must be checked at the window before a case exists:
a wrong digit there means a case nobody can find again and a licence issued to
a stranger. The check digits come from python-stdnum (``stdnum.cn.ric``,
``stdnum.cn.uscc``); the judgement about what to refuse and what merely to flag
is ours.

Refused (ApplicantError): wrong length, wrong characters, wrong check digit,
impossible birth date. Accepted with a warning: an address code stdnum does not
know, or one that did not exist yet on the birth date. Both happen to real
people — a number is issued where the household is registered when the card is
made, so someone born in 1985 who lives in 北屯市 (659005, created 2011) carries
659005 — and refusing them at a county window would lock them out of every
service. Numbers are compared only after normalisation (no spaces or hyphens,
upper-case X and letters), so the same applicant is always the same string.

A number is checked as the one kind it claims to be and never re-read as the
other when that check fails: the claim is made by the check character. A
string of 17 digits and a digit or X whose GB 11643 check digit holds claims
to be a resident ID and is refused if its birth date is impossible (it does not
then become a credit code, however its GB 32100 check character falls); any
other string is a credit code. A credit code's registration authority and
organisation type must be a pair GB 32100 lists (``USCC_TYPES``).

Resident ID numbers are personal data: error and warning messages show only the
first ten characters (address code and birth year) followed by "..."; credit
codes are masked the same way, since a mistyped resident ID can arrive as one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

from stdnum import numdb
from stdnum.cn import ric, uscc

from pki.errors import InputError

NATURAL: Final = "natural"
LEGAL: Final = "legal"

#: GB 32100-2015 (with amendment 1, 2016): each registration authority (first
#: character) and the organisation types (second character) it may register.
#: stdnum insists on digits for the authority, which would refuse the village
#: collectives (N2…/N3…) that apply for grassland and farmland subsidies.
USCC_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "1": ("机构编制", frozenset("1239")),       # 机关, 事业单位, 编办管理的群众团体, 其他
    "2": ("外交", frozenset("19")),             # 外国常住新闻机构, 其他
    "3": ("司法行政", frozenset("123459")),     # 律师执业机构, 公证处, 基层法律服务所,
                                                # 司法鉴定机构, 仲裁委员会, 其他
    "4": ("文化", frozenset("19")),             # 外国在华文化中心, 其他
    "5": ("民政", frozenset("1239")),           # 社会团体, 民办非企业单位, 基金会, 其他
    "6": ("旅游", frozenset("129")),            # 外国/港澳台旅游部门常驻代表机构, 其他
    "7": ("宗教", frozenset("129")),            # 宗教活动场所, 宗教院校, 其他
    "8": ("工会", frozenset("19")),             # 基层工会, 其他
    "9": ("工商/市场监管", frozenset("123")),   # 企业, 个体工商户, 农民专业合作社
    "A": ("中央军委改革和编制办公室", frozenset("19")),  # 军队事业单位, 其他
    "N": ("农业", frozenset("1239")),           # 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": ("其他", frozenset("1")),              # not divided further: always 1
}
_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")
_SEPARATORS = re.compile(r"[\s\-]+")
_EARLIEST_BIRTH_YEAR = 1880


class ApplicantError(InputError):
    """An applicant number that cannot be right."""


@dataclass(frozen=True)
class Applicant:
    kind: Literal["natural", "legal"]
    id: str
    warnings: list[str] = field(default_factory=list)
    birth_date: date | None = None
    region: str = ""
    region_name: str = ""


def normalise(value: str) -> str:
    """The canonical spelling: no separators, upper case."""
    return _SEPARATORS.sub("", value).upper()


def check_applicant(value: str, *, today: date | None = None) -> Applicant:
    """Classify and check an applicant number; raise ApplicantError when it is wrong.

    The kind is decided once, by which check character holds (module
    docstring), and the number is then checked as that kind only: all-digit
    credit codes exist, so the shape alone cannot decide. ``today``, when
    given, refuses birth dates in the future; it is a parameter because this
    module never reads the clock.
    """
    if not isinstance(value, str):
        raise ApplicantError(
            f"bad applicant ID {value!r}: want a string, got {type(value).__name__}"
        )
    number = normalise(value)
    if not number:
        raise ApplicantError(
            "bad applicant ID: empty; want an 18-digit resident ID or a credit code"
        )
    if len(number) != 18:
        hint = " (15-digit first-generation IDs are no longer valid)" if len(number) == 15 else ""
        raise ApplicantError(
            f"bad applicant ID {_mask(number)}: {len(number)} characters, want 18 "
            f"(resident ID, GB 11643, or unified social credit code, GB 32100){hint}"
        )
    if _claims_resident_id(number) or (_resident_shaped(number) and not _looks_like_uscc(number)):
        return check_resident_id(number, today=today)
    return check_uscc(number)


def check_resident_id(value: str, *, today: date | None = None) -> Applicant:
    """Check an 18-digit resident ID number (GB 11643) and read its birth date."""
    number = normalise(value)
    shown = _mask(number)
    if len(number) != 18:
        raise ApplicantError(f"bad resident ID {shown}: {len(number)} characters, want 18")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ApplicantError(f"bad resident ID {shown}: want 17 digits and a final digit or X")
    want = ric.calc_check_digit(number)
    if number[17] != want:
        raise ApplicantError(f"bad resident ID {shown}: check digit is {number[17]}, want {want}")
    born = _birth_date_or_none(number)
    if born is None:
        raise ApplicantError(
            f"bad resident ID {shown}: birth date {number[6:14]} is not a date (want YYYYMMDD)"
        )
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise ApplicantError(
            f"bad resident ID {shown}: birth year {born.year} is before {_EARLIEST_BIRTH_YEAR}"
        )
    if today is not None and born > today:
        raise ApplicantError(
            f"bad resident ID {shown}: birth date {born.isoformat()} is after today "
            f"({today.isoformat()})"
        )
    region = number[:6]
    name, warning = _region_for_person(region, born)
    return Applicant(
        kind=NATURAL,
        id=number,
        warnings=[warning] if warning else [],
        birth_date=born,
        region=region,
        region_name=name,
    )


def check_uscc(value: str) -> Applicant:
    """Check an 18-character unified social credit code (GB 32100)."""
    number = normalise(value)
    shown = _mask(number)
    if len(number) != 18:
        raise ApplicantError(
            f"bad unified social credit code {shown}: {len(number)} characters, want 18"
        )
    bad = sorted({c for c in number if c not in _USCC_ALPHABET})
    if bad:
        raise ApplicantError(
            f"bad unified social credit code {shown}: characters {''.join(bad)} are not "
            "allowed (want digits and capital letters except I, O, S, V, Z)"
        )
    if number[0] not in USCC_TYPES:
        raise ApplicantError(
            f"bad unified social credit code {shown}: registration authority {number[0]} "
            "is unknown (want 1-9, A, N or Y)"
        )
    authority, types = USCC_TYPES[number[0]]
    if number[1] not in types:
        raise ApplicantError(
            f"bad unified social credit code {shown}: organisation type {number[1]} is not "
            f"one that authority {number[0]} ({authority}) registers (want "
            f"{', '.join(sorted(types))})"
        )
    if not number[2:8].isdigit():
        raise ApplicantError(
            f"bad unified social credit code {shown}: region {number[2:8]} is not "
            "a six-digit division code"
        )
    want = uscc.calc_check_digit(number[:17])
    if number[17] != want:
        raise ApplicantError(
            f"bad unified social credit code {shown}: check character is {number[17]}, "
            f"want {want}"
        )
    region = number[2:8]
    name = _region_name(region)
    warnings = []
    if not name and region != "100000":
        warnings.append(f"region {region} of credit code {shown} is not a known division code")
    return Applicant(kind=LEGAL, id=number, warnings=warnings, region=region, region_name=name)


def _mask(number: str) -> str:
    return number[:10] + "..." if len(number) > 10 else number


def _resident_shaped(number: str) -> bool:
    return number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")


def _claims_resident_id(number: str) -> bool:
    """17 digits and the GB 11643 check digit that belongs to them."""
    return _resident_shaped(number) and ric.calc_check_digit(number) == number[17]


def _looks_like_uscc(number: str) -> bool:
    """The GB 32100 check character holds for an authority and type that may be paired."""
    return (
        number[1] in USCC_TYPES.get(number[0], ("", frozenset()))[1]
        and uscc.calc_check_digit(number[:17]) == number[17]
    )


def _birth_date_or_none(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


@functools.lru_cache(maxsize=8192)
def _region_entries(region: str) -> tuple[str, tuple[tuple[int | None, int | None, str], ...]]:
    """Province name and the (first year, last year, county name) spans stdnum knows.

    Cached: the projection re-checks every apply event, and stdnum's lookup of
    a region costs far more than the rest of a case transition.
    """
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(region):
        info.update(props)
    spans: list[tuple[int | None, int | None, str]] = []
    for county in filter(None, info.get("county", "").split(",")):
        if county.startswith("["):
            years, name = county[1:].split("]", 1)
            start, end = years.split("-")
            spans.append((int(start) if start else None, int(end) if end else None, name))
        else:
            spans.append((None, None, county))
    return info.get("province", ""), tuple(spans)


def _region_name(region: str) -> str:
    province, spans = _region_entries(region)
    if not spans:
        return ""
    return province + spans[-1][2]


def _region_for_person(region: str, born: date) -> tuple[str, str]:
    """(display name, warning or "") for a resident ID's address code."""
    province, spans = _region_entries(region)
    if not spans:
        return "", (
            f"address code {region} is not a known division code; check it with the applicant"
        )
    for start, end, name in spans:
        if (start is None or born.year >= start) and (end is None or born.year <= end):
            return province + name, ""
    start, end, name = spans[-1]
    if start is not None and born.year < start:
        why = f"was created in {start}, after the birth year {born.year}"
    else:
        why = f"was abolished in {end}, before the birth year {born.year}"
    return (
        province + name,
        f"address code {region} ({name}) {why}; accepted, as numbers are issued where "
        "the household is registered",
    )
