"""Catalogue files: reading and checking implementation-list entries (政务服务事项).

This module knows the file format and the rules of one item; it never touches
a node. What a node has published (versions, retirement, look-up) is
node.matters.

An item is the promise a county makes to every applicant — what it does, on
which legal basis, with which materials, within how many working days — and it
is published down and replicated everywhere, so a mistake in it is a mistake in
every case handled under it. Every element is therefore checked before an item
becomes a record, and each problem names the item and the element.

File format. A TOML file with an array of tables ``[[matters]]``, or a JSON file
holding one item object, a list of them, or ``{"matters": [...]}``. Keys are the
``tongban.v1.Matter`` field names; every key is required except ``fees``
(default "不收费"); unknown keys are refused so a misspelt key cannot silently
drop an element; ``version`` is not a file element, the publisher assigns it::

    [[matters]]
    base_code = "GF00101000"           # 基本编码
    impl_code = "540102-GF-001"        # 实施编码
    name = "最低生活保障审核确认"
    type = "行政给付"                  # one of TYPES
    level = "县级"                     # one of LEVELS
    body_name = "拉萨市城关区民政局"
    body_uscc = "11540102MB0A00010…"   # GB 32100, check character verified
    legal_basis = "《社会救助暂行办法》第十一条"
    conditions = "…"
    service_object = "自然人"          # 自然人 / 法人 / 其他组织, several joined by ","
    legal_limit_days = 30              # working days; >= promised_limit_days >= 0
    promised_limit_days = 20
    fees = "不收费"
    steps = ["申请", "受理", "审查", "决定", "送达"]
    handling_form = "窗口办理、网上办理"  # parts from HANDLING_FORMS, joined by "、"
    online_depth = 3                   # 1 信息发布 … 4 全程网办
    scope = "县内通办"                 # one of SCOPES
    materials = [
      { name = "户口簿", required = true, deferrable = false, licence_type = "GA0001" },
    ]
    result = { licence_type = "GA0001", valid_years = 0 }   # or "无"; default "无"

``result`` names the licence type a concluded, approved case produces
(node.licence_types; valid_years 0 = 长期), or "无" for no licence. A
material's optional ``licence_type`` lets an applicant cite a licence of that
type instead of handing in paper (免证办).

Handling modes (optional elements, node.workflow):

- 告知承诺: a required material with ``commitment = true`` may be accepted on
  the applicant's written commitment; the item then names
  ``commitment_check_days`` (working days after the decision for the 核查,
  1 or more), and an item with such days names at least one such material.
- 容缺: ``decide_with_owed = true`` lets a decision be made while 容缺
  materials are still owed (default false: approval waits for all of them);
  only an item with a deferrable material may say so.
- 一件事 (theme): ``theme_members = ["540102-XK-001", …]`` makes the item a
  theme of two or more member matters handled in parallel; its ``materials``
  are the merged list (each member's materials, each named once) and its
  promised limit applies to every member case. node.matters checks the
  members against the published items when the theme is published.

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
import re
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from stdnum.cn import uscc

from node.ids import ApplicantError, check_uscc
from node.licence_types import LicenceType, UnknownLicenceType, licence_type
from node.workflow import MAX_LIMIT_DAYS
from pki.errors import InputError, MalformedError
from pki.files import read_file
from protos.tongban.v1 import record_pb2

#: A county's whole implementation list is well under a megabyte.
MAX_CATALOGUE_BYTES = 16 * 1024 * 1024

TYPES = (
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政征收",
    "行政给付",
    "行政检查",
    "行政确认",
    "行政奖励",
    "行政裁决",
    "其他行政权力",
    "公共服务",
)
LEVELS = ("国家级", "省级", "市级", "县级", "乡级")
SERVICE_OBJECTS = ("自然人", "法人", "其他组织")
HANDLING_FORMS = ("窗口办理", "网上办理", "掌上办理", "自助办理", "邮寄办理", "上门办理")
SCOPES = ("全国通办", "跨省通办", "省内通办", "市内通办", "县内通办")
ONLINE_DEPTHS = range(1, 5)
DEFAULT_FEES = "不收费"

_BASE_CODE = re.compile(r"^[0-9A-Z]{6,20}$")
_IMPL_CODE = re.compile(r"^[0-9A-Z]+(-[0-9A-Z]+)*$")
_IMPL_LENGTH = range(8, 41)
_LIST_SEPARATORS = re.compile(r"\s*[,，、]\s*")

_TEXT_FIELDS = ("name", "body_name", "legal_basis", "conditions")
_KNOWN_KEYS = frozenset(
    {
        "base_code",
        "impl_code",
        "name",
        "type",
        "level",
        "body_name",
        "body_uscc",
        "legal_basis",
        "conditions",
        "service_object",
        "legal_limit_days",
        "promised_limit_days",
        "fees",
        "materials",
        "steps",
        "handling_form",
        "online_depth",
        "scope",
        "result",
        "decide_with_owed",
        "commitment_check_days",
        "theme_members",
    }
)
_OPTIONAL_KEYS = {"fees", "result", "decide_with_owed", "commitment_check_days", "theme_members"}
_REQUIRED_KEYS = _KNOWN_KEYS - _OPTIONAL_KEYS
NO_LICENCE = "无"
_MATERIAL_KEYS = frozenset({"name", "required", "deferrable"})

#: Builds the error for one element of the item being parsed.
_Fail = Callable[[str, str], "CatalogueError"]


class CatalogueError(InputError):
    """A catalogue item that cannot be published as it stands."""


def parse_matter(item: dict, *, version: int = 1,
                 types: Mapping[str, LicenceType] | None = None) -> record_pb2.Matter:
    """Check one item and build its Matter; raise CatalogueError naming item and element.

    ``types`` are the licence types the node knows (node.licence_types.known_types);
    without them, the shipped list.
    """
    if not isinstance(item, dict):
        raise CatalogueError(f"bad catalogue item: want a table/object, got {type(item).__name__}")
    label = _label(item)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CatalogueError(f"matter {label}: version {version!r}: want an integer >= 1")

    def fail(element: str, why: str) -> CatalogueError:
        return CatalogueError(f"matter {label}: {element} {why}")

    if "version" in item:
        raise fail("version", "is not a file element: the publisher assigns versions")
    unknown = sorted(set(item) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], f"is not a known element (known: {', '.join(sorted(_KNOWN_KEYS))})")
    missing = sorted(_REQUIRED_KEYS - set(item))
    if missing:
        raise CatalogueError(f"matter {label}: missing {', '.join(missing)}")

    base_code = _code(item, "base_code", fail)
    if not _BASE_CODE.match(base_code):
        raise fail("base_code", f"{base_code!r}: want 6-20 capital letters and digits")
    impl_code = _code(item, "impl_code", fail)
    if len(impl_code) not in _IMPL_LENGTH or not _IMPL_CODE.match(impl_code):
        raise fail(
            "impl_code",
            f"{impl_code!r}: want 8-40 capital letters and digits, optionally in groups "
            "joined by single hyphens",
        )
    texts: dict[str, Any] = {key: _required_text(item, key, fail) for key in _TEXT_FIELDS}
    matter_type = _choice(item, "type", TYPES, fail)
    level = _choice(item, "level", LEVELS, fail)
    scope = _choice(item, "scope", SCOPES, fail)
    body_uscc = _required_text(item, "body_uscc", fail)
    try:
        body_uscc = check_uscc(body_uscc).id
    except ApplicantError as exc:
        raise fail("body_uscc", f"is wrong: {exc}") from exc
    service_object = ",".join(_parts(item, "service_object", SERVICE_OBJECTS, fail))
    handling_form = "、".join(_parts(item, "handling_form", HANDLING_FORMS, fail))
    legal = _count(item, "legal_limit_days", fail)
    promised = _count(item, "promised_limit_days", fail)
    if promised > legal:
        raise fail("promised_limit_days", f"{promised} exceeds legal_limit_days {legal}")
    depth = _count(item, "online_depth", fail)
    if depth not in ONLINE_DEPTHS:
        raise fail("online_depth", f"{depth}: want 1 (信息发布) to 4 (全程网办)")
    fees = _required_text(item, "fees", fail) if "fees" in item else DEFAULT_FEES
    materials = _materials(item, fail, types)
    modes = _modes(item, materials, fail)
    return record_pb2.Matter(
        base_code=base_code,
        impl_code=impl_code,
        version=version,
        type=matter_type,
        level=level,
        body_uscc=body_uscc,
        service_object=service_object,
        legal_limit_days=legal,
        promised_limit_days=promised,
        fees=fees,
        materials=materials,
        steps=_steps(item, fail),
        handling_form=handling_form,
        online_depth=depth,
        scope=scope,
        result=_result(item, fail, types),
        **modes,
        **texts,
    )


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


def _label(item: dict) -> str:
    for key in ("impl_code", "base_code", "name"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "(no impl_code)"


def _code(item: dict, key: str, fail: _Fail) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise fail(key, f"must be a string, got {value!r} (quote it: leading zeros matter)")
    return value.strip()


def _required_text(item: dict, key: str, fail: _Fail) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise fail(key, f"must be text, got {type(value).__name__}")
    if not value.strip():
        raise fail(key, "is empty")
    return value.strip()


def _choice(item: dict, key: str, allowed: tuple[str, ...], fail: _Fail) -> str:
    value = _required_text(item, key, fail)
    if value not in allowed:
        raise fail(key, f"{value!r}: want one of {', '.join(allowed)}")
    return value


def _parts(item: dict, key: str, allowed: tuple[str, ...], fail: _Fail) -> list[str]:
    """Several values from ``allowed`` in one element, separated by ",", "，" or "、"."""
    parts = _LIST_SEPARATORS.split(_required_text(item, key, fail))
    for part in parts:
        if part not in allowed:
            raise fail(key, f"{part!r}: want one or more of {', '.join(allowed)}")
    if len(set(parts)) != len(parts):
        raise fail(key, "names a value twice")
    return parts


def _count(item: dict, key: str, fail: _Fail) -> int:
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(key, f"must be a whole number, got {value!r}")
    if value < 0:
        raise fail(key, f"{value} is negative")
    if value > MAX_LIMIT_DAYS:
        raise fail(key, f"{value} exceeds {MAX_LIMIT_DAYS} (working days, about fourteen years)")
    return value


def _materials(item: dict, fail: _Fail, types: Mapping[str, LicenceType] | None
               ) -> list[record_pb2.Material]:
    entries = item["materials"]
    if not isinstance(entries, list) or not entries:
        raise fail("materials", "must be a non-empty list of {name, required, deferrable}")
    out: list[record_pb2.Material] = []
    names: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"materials[{index}]"
        if not isinstance(entry, dict) or not _MATERIAL_KEYS <= set(entry) <= {
                *_MATERIAL_KEYS, "licence_type", "commitment"}:
            raise fail(where, "must have the keys name, required, deferrable and optionally "
                       "licence_type and commitment")
        name = entry["name"]
        if not isinstance(name, str) or not name.strip():
            raise fail(where, "name is empty")
        name = name.strip()
        if name in names:
            raise fail(where, f"{name!r} is listed twice")
        names.add(name)
        required, deferrable = entry["required"], entry["deferrable"]
        if not isinstance(required, bool) or not isinstance(deferrable, bool):
            raise fail(where, f"{name!r}: required and deferrable must be true or false")
        if deferrable and not required:
            raise fail(
                where,
                f"{name!r} is deferrable (容缺) but not required: only a required material "
                "can be supplied after acceptance",
            )
        cited = entry.get("licence_type", "")
        if cited:
            try:
                licence_type(cited, types)
            except UnknownLicenceType as exc:
                raise fail(where, f"{name!r}: {exc}") from exc
        commitment = entry.get("commitment", False)
        if not isinstance(commitment, bool):
            raise fail(where, f"{name!r}: commitment must be true or false")
        if commitment and not required:
            raise fail(where, f"{name!r} allows 告知承诺 but is not required: a commitment "
                       "stands in only for a required material")
        out.append(record_pb2.Material(name=name, required=required, deferrable=deferrable,
                                       licence_type=cited, commitment=commitment))
    return out


def _modes(item: dict, materials: list[record_pb2.Material], fail: _Fail) -> dict[str, Any]:
    """The handling-mode elements (告知承诺, 容缺 decisions, 一件事 members), checked together
    with the materials they refer to."""
    decide_with_owed = item.get("decide_with_owed", False)
    if not isinstance(decide_with_owed, bool):
        raise fail("decide_with_owed", "must be true or false")
    if decide_with_owed and not any(m.deferrable for m in materials):
        raise fail("decide_with_owed", "is true but no material allows 容缺 (deferrable)")
    check_days = _count(item, "commitment_check_days", fail) \
        if "commitment_check_days" in item else 0
    committed = [m.name for m in materials if m.commitment]
    if committed and check_days < 1:
        raise fail("commitment_check_days", f"is missing or 0, but {committed[0]!r} allows "
                   "告知承诺: name the working days for the 核查 after the decision")
    if check_days and not committed:
        raise fail("commitment_check_days", "is given but no material allows 告知承诺 "
                   "(commitment = true)")
    members = item.get("theme_members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise fail("theme_members", "must be a list of implementation codes")
    members = [m.strip() for m in members]
    if "theme_members" in item and len(members) < 2:
        raise fail("theme_members", "must name two or more member matters (一件事)")
    if len(set(members)) != len(members):
        raise fail("theme_members", "names a member twice")
    for code in members:
        if len(code) not in _IMPL_LENGTH or not _IMPL_CODE.match(code):
            raise fail("theme_members", f"{code!r} is not an implementation code")
    return {"decide_with_owed": decide_with_owed, "commitment_check_days": check_days,
            "theme_members": members}


def _result(item: dict, fail: _Fail, types: Mapping[str, LicenceType] | None
            ) -> record_pb2.LicenceResult | None:
    """The licence a case of this item produces, or None ("无")."""
    value = item.get("result", NO_LICENCE)
    if value == NO_LICENCE:
        return None
    if not isinstance(value, dict) or set(value) != {"licence_type", "valid_years"}:
        raise fail("result", f'must be "{NO_LICENCE}" or {{licence_type, valid_years}}')
    years = value["valid_years"]
    if isinstance(years, bool) or not isinstance(years, int) or not 0 <= years <= 100:
        raise fail("result", f"valid_years {years!r}: want 0 (长期) to 100")
    try:
        kind = licence_type(value["licence_type"], types)
    except UnknownLicenceType as exc:
        raise fail("result", str(exc)) from exc
    return record_pb2.LicenceResult(type_code=kind.code, type_name=kind.name, valid_years=years)


def _steps(item: dict, fail: _Fail) -> list[str]:
    steps = item["steps"]
    if not isinstance(steps, list) or not steps:
        raise fail("steps", "must be a non-empty list of step names")
    out: list[str] = []
    for index, step in enumerate(steps, start=1):
        if not isinstance(step, str) or not step.strip():
            raise fail(f"steps[{index}]", "is empty or not text")
        out.append(step.strip())
    if len(set(out)) != len(out):
        raise fail("steps", "names a step twice")
    return out
