"""The one schema of a catalogue item (事项实施清单): every element, its type and its rule.

``parse_matter`` (node.catalogue_file) reads an item only through these
tables, and ``python -m ops.gendocs`` prints them as docs/catalogue.md, so
the reference and the checks cannot drift: an element that is not here is
refused as unknown, and every rule a reader can see in the docs is the
function that enforces it. Each element's ``parse`` gets the raw value, a
``fail`` that names item and element, and the licence types the node knows;
it returns the value of the ``tongban.v1.Matter`` field of the same name.
Rules between elements (a promised limit within the legal one, a situation's
materials among the item's) are ``CROSS_RULES``, checked after every element.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from node.ids import ApplicantError, check_uscc
from node.licence_types import LicenceType, UnknownLicenceType, licence_type
from node.workflow import MAX_LIMIT_DAYS
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

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
MATERIAL_FORMATS = ("纸质", "电子")
#: 来源渠道. A material 政府部门核发 is data another body already holds (免提交 applies:
#: the office obtains it by sharing instead of asking the applicant for paper).
SOURCES = ("申请人自备", "政府部门核发", "中介机构出具", "其他")
ISSUED_BY_GOVERNMENT = "政府部门核发"
ONLINE_DEPTHS = range(1, 5)
DEFAULT_FEES = "不收费"
NO_LICENCE = "无"
MAX_COPIES = 20

_BASE_CODE = re.compile(r"^[0-9A-Z]{6,20}$")
_IMPL_CODE = re.compile(r"^[0-9A-Z]+(-[0-9A-Z]+)*$")
_IMPL_LENGTH = range(8, 41)
_LIST_SEPARATORS = re.compile(r"\s*[,，、]\s*")


class CatalogueError(InputError):
    """A catalogue item that cannot be published as it stands."""


#: Builds the error for one element of the item being parsed: fail(element, why).
Fail = Callable[[str, str], CatalogueError]
Types = Mapping[str, LicenceType] | None


@dataclass(frozen=True)
class Element:
    """One element of an item (or of a material or situation): what the docs print and
    the check that enforces it."""

    key: str
    label: str          # the element's name in the implementation list (Chinese)
    type: str           # what the file holds, in words
    required: bool
    default: Any        # the value taken when the element is absent (not for required ones)
    rule: str           # the rule, in words
    parse: Callable[[Any, Fail, Types], Any]


# --- value parsers, each one rule -------------------------------------------------------------


def _text(value: Any, fail: Fail, key: str) -> str:
    if not isinstance(value, str):
        raise fail(key, f"must be text, got {type(value).__name__}")
    if not value.strip():
        raise fail(key, "is empty")
    return value.strip()


def _optional_text(key: str) -> Callable[[Any, Fail, Types], str]:
    def parse(value: Any, fail: Fail, _types: Types) -> str:
        if not isinstance(value, str):
            raise fail(key, f"must be text, got {type(value).__name__}")
        return value.strip()
    return parse


def _required_text(key: str) -> Callable[[Any, Fail, Types], str]:
    return lambda value, fail, _types: _text(value, fail, key)


def _code(value: Any, fail: Fail, key: str) -> str:
    if not isinstance(value, str):
        raise fail(key, f"must be a string, got {value!r} (quote it: leading zeros matter)")
    return value.strip()


def parse_base_code(value: Any, fail: Fail, _types: Types = None) -> str:
    code = _code(value, fail, "base_code")
    if not _BASE_CODE.match(code):
        raise fail("base_code", f"{code!r}: want 6-20 capital letters and digits")
    return code


def _impl_code(value: Any, fail: Fail, _types: Types) -> str:
    code = _code(value, fail, "impl_code")
    if len(code) not in _IMPL_LENGTH or not _IMPL_CODE.match(code):
        raise fail("impl_code", f"{code!r}: want 8-40 capital letters and digits, optionally in "
                   "groups joined by single hyphens")
    return code


def _choice(key: str, allowed: tuple[str, ...]) -> Callable[[Any, Fail, Types], str]:
    def parse(value: Any, fail: Fail, _types: Types) -> str:
        text = _text(value, fail, key)
        if text not in allowed:
            raise fail(key, f"{text!r}: want one of {', '.join(allowed)}")
        return text
    return parse


def split_parts(value: Any, fail: Fail, key: str, allowed: tuple[str, ...]) -> list[str]:
    """Several values from ``allowed`` in one element, separated by ",", "，" or "、"."""
    parts = _LIST_SEPARATORS.split(_text(value, fail, key))
    for part in parts:
        if part not in allowed:
            raise fail(key, f"{part!r}: want one or more of {', '.join(allowed)}")
    if len(set(parts)) != len(parts):
        raise fail(key, "names a value twice")
    return parts


def _parts(key: str, allowed: tuple[str, ...], joiner: str
           ) -> Callable[[Any, Fail, Types], str]:
    return lambda value, fail, _types: joiner.join(split_parts(value, fail, key, allowed))


def _count(key: str) -> Callable[[Any, Fail, Types], int]:
    def parse(value: Any, fail: Fail, _types: Types) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(key, f"must be a whole number, got {value!r}")
        if value < 0:
            raise fail(key, f"{value} is negative")
        if value > MAX_LIMIT_DAYS:
            raise fail(key, f"{value} exceeds {MAX_LIMIT_DAYS} (working days, about fourteen "
                       "years)")
        return value
    return parse


def _flag(key: str) -> Callable[[Any, Fail, Types], bool]:
    def parse(value: Any, fail: Fail, _types: Types) -> bool:
        if not isinstance(value, bool):
            raise fail(key, f"must be true or false, got {value!r}")
        return value
    return parse


def _uscc(value: Any, fail: Fail, _types: Types) -> str:
    try:
        return check_uscc(_text(value, fail, "body_uscc")).id
    except ApplicantError as exc:
        raise fail("body_uscc", f"is wrong: {exc}") from exc


def _online_depth(value: Any, fail: Fail, types: Types) -> int:
    depth = _count("online_depth")(value, fail, types)
    if depth not in ONLINE_DEPTHS:
        raise fail("online_depth", f"{depth}: want 1 (信息发布) to 4 (全程网办)")
    return depth


def _steps(value: Any, fail: Fail, _types: Types) -> list[str]:
    if not isinstance(value, list) or not value:
        raise fail("steps", "must be a non-empty list of step names")
    out: list[str] = []
    for index, step in enumerate(value, start=1):
        if not isinstance(step, str) or not step.strip():
            raise fail(f"steps[{index}]", "is empty or not text")
        out.append(step.strip())
    if len(set(out)) != len(out):
        raise fail("steps", "names a step twice")
    return out


def _result(value: Any, fail: Fail, types: Types) -> record_pb2.LicenceResult | None:
    """The licence a case of this item produces, or None ("无")."""
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


def _copies(value: Any, fail: Fail, _types: Types) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COPIES:
        raise fail("copies", f"{value!r}: want a whole number from 1 to {MAX_COPIES}")
    return value


def _licence_type_code(value: Any, fail: Fail, types: Types) -> str:
    code = _optional_text("licence_type")(value, fail, types)
    if code:
        try:
            licence_type(code, types)
        except UnknownLicenceType as exc:
            raise fail("licence_type", str(exc)) from exc
    return code


def _table_list(key: str, elements: tuple[Element, ...], build: Callable[[dict, Fail], Any],
                what: str, *, non_empty: bool) -> Callable[[Any, Fail, Types], list]:
    """A list of tables, each read through ``elements`` (materials, situations)."""
    def parse(value: Any, fail: Fail, types: Types) -> list:
        if not isinstance(value, list) or (non_empty and not value):
            raise fail(key, f"must be a {'non-empty ' if non_empty else ''}list of {what}")
        out = []
        names: set[str] = set()
        for index, entry in enumerate(value, start=1):
            where = f"{key}[{index}]"

            def fail_here(element: str, why: str, where: str = where) -> CatalogueError:
                return fail(where, f"{element} {why}" if element else why)
            if not isinstance(entry, dict):
                raise fail_here("", f"must be a table {what}")
            fields = read_elements(entry, elements, fail_here, types)
            if fields["name"] in names:
                raise fail_here("", f"{fields['name']!r} is listed twice")
            names.add(fields["name"])
            out.append(build(fields, fail_here))
        return out
    return parse


def read_elements(item: dict, elements: tuple[Element, ...], fail: Fail,
                  types: Types) -> dict[str, Any]:
    """Parse ``item`` through ``elements``: unknown keys refused, missing required ones
    named, defaults filled in. Returns element key -> value."""
    known = [e.key for e in elements]
    unknown = sorted(set(item) - set(known))
    if unknown:
        raise fail(unknown[0], f"is not a known element (known: {', '.join(sorted(known))})")
    missing = sorted(e.key for e in elements if e.required and e.key not in item)
    if missing:
        raise fail("", f"missing {', '.join(missing)}")
    return {e.key: e.parse(item[e.key], fail, types) if e.key in item else e.default
            for e in elements}


def _material(fields: dict, fail: Fail) -> record_pb2.Material:
    name = fields["name"]
    if fields["deferrable"] and not fields["required"]:
        raise fail("", f"{name!r} is deferrable (容缺) but not required: only a required "
                   "material can be supplied after acceptance")
    if fields["commitment"] and not fields["required"]:
        raise fail("", f"{name!r} allows 告知承诺 but is not required: a commitment stands in "
                   "only for a required material")
    if (fields["source"] == ISSUED_BY_GOVERNMENT) != bool(fields["issuer"]):
        raise fail("", f"{name!r}: issuer names the issuing body exactly when source is "
                   f"{ISSUED_BY_GOVERNMENT}")
    return record_pb2.Material(**fields)


def _situation(fields: dict, fail: Fail) -> dict:
    """Kept as parsed: checked against the item's materials and limits in CROSS_RULES."""
    return fields


def _theme_members(value: Any, fail: Fail, _types: Types) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("theme_members", "must be a list of implementation codes")
    codes = [v.strip() for v in value]
    if len(codes) < 2:
        raise fail("theme_members", "must name two or more member matters (一件事)")
    if len(set(codes)) != len(codes):
        raise fail("theme_members", "names a member twice")
    for code in codes:
        if len(code) not in _IMPL_LENGTH or not _IMPL_CODE.match(code):
            raise fail("theme_members", f"{code!r} is not an implementation code")
    return codes


def _material_names(value: Any, fail: Fail, _types: Types) -> list[str]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v.strip() for v in value):
        raise fail("materials", "must be a non-empty list of material names")
    names = [v.strip() for v in value]
    if len(set(names)) != len(names):
        raise fail("materials", "names a material twice")
    return names


MATERIAL_ELEMENTS: tuple[Element, ...] = (
    Element("name", "材料名称", "text", True, None, "not empty; unique within the item",
            _required_text("name")),
    Element("required", "是否必要", "true/false", True, None, "", _flag("required")),
    Element("deferrable", "容缺", "true/false", True, None,
            "may be supplied after acceptance (容缺受理); only for a required material",
            _flag("deferrable")),
    Element("licence_type", "证照类型", "licence type code", False, "",
            "免证办: a licence of this type satisfies the material; a code the node knows "
            "(tongban licence types list)", _licence_type_code),
    Element("commitment", "告知承诺", "true/false", False, False,
            "the applicant's written commitment may stand in for it (only a required "
            "material; the item then names commitment_check_days)", _flag("commitment")),
    Element("format", "材料形式", f"one or more of {'/'.join(MATERIAL_FORMATS)}, joined by ','",
            False, "纸质", "", _parts("format", MATERIAL_FORMATS, ",")),
    Element("copies", "份数", f"whole number 1-{MAX_COPIES}", False, 1, "", _copies),
    Element("legal_basis", "材料依据", "text", False, "",
            "the article that requires the material, or empty when none is cited",
            _optional_text("legal_basis")),
    Element("sample", "样表/示例", "text", False, "",
            "file name or address of a filled-in sample, or empty", _optional_text("sample")),
    Element("source", "来源渠道", f"one of {', '.join(SOURCES)}", False, "申请人自备",
            f"{ISSUED_BY_GOVERNMENT}: the data is held by another body, so 免提交 applies "
            "(the office obtains it by sharing)", _choice("source", SOURCES)),
    Element("issuer", "核发部门", "text", False, "",
            f"the issuing body; required exactly when source is {ISSUED_BY_GOVERNMENT}",
            _optional_text("issuer")),
)

SITUATION_ELEMENTS: tuple[Element, ...] = (
    Element("name", "情形名称", "text", True, None, "not empty; unique within the item",
            _required_text("name")),
    Element("materials", "情形材料", "list of material names", True, None,
            "each one of the item's materials", _material_names),
    Element("promised_limit_days", "情形承诺时限", "whole number (working days)", False, None,
            "at most the item's legal_limit_days; absent: the item's promised limit",
            _count("promised_limit_days")),
)


#: The handling modes' elements (告知承诺, 容缺 decisions, 一件事): node.workflow, node.cases.
MODE_ELEMENTS: tuple[Element, ...] = (
    Element("decide_with_owed", "容缺可先行决定", "true/false", False, False,
            "a decision may be made while 容缺 materials are owed (else approval waits for "
            "all of them); only with a deferrable material", _flag("decide_with_owed")),
    Element("commitment_check_days", "告知承诺核查时限", "whole number (working days)", False,
            0, "working days after the decision for the 核查; at least 1 exactly when a "
            "material allows 告知承诺", _count("commitment_check_days")),
    Element("theme_members", "一件事成员事项", "list of implementation codes", False, [],
            "two or more current matters that are no theme (checked when published); the "
            "item's materials are their merged list and its promised limit applies to every "
            "member case", _theme_members),
)

ELEMENTS: tuple[Element, ...] = (
    Element("base_code", "基本编码", "code (string)", True, None,
            "6-20 capital letters and digits; names the base item (基本目录) unless local",
            parse_base_code),
    Element("impl_code", "实施编码", "code (string)", True, None,
            "8-40 capital letters and digits, optionally in groups joined by single hyphens; "
            "in the publisher's namespace (the division before the first hyphen)", _impl_code),
    Element("name", "事项名称", "text", True, None,
            "equals the base item's name (四级四同)", _required_text("name")),
    Element("main_item", "主项名称", "text", False, "(the name)",
            "the main item of the base catalogue this item belongs to",
            _optional_text("main_item")),
    Element("sub_item", "子项名称", "text", False, "",
            "the sub-item, or empty when the main item has none", _optional_text("sub_item")),
    Element("type", "事项类型", f"one of {', '.join(TYPES)}", True, None,
            "equals the base item's type", _choice("type", TYPES)),
    Element("level", "行使层级", f"one of {', '.join(LEVELS)}", True, None,
            "one of the base item's exercising levels", _choice("level", LEVELS)),
    Element("local", "地方特色事项", "true/false", False, False,
            "true: no base item; change requests go to the parent", _flag("local")),
    Element("body_name", "实施主体", "text", True, None, "", _required_text("body_name")),
    Element("body_uscc", "实施主体编码", "GB 32100 credit code", True, None,
            "check character verified", _uscc),
    Element("legal_basis", "设定依据", "text", True, None,
            "equals the base item's legal basis; where an article number is not certain the "
            "text says so rather than invent one", _required_text("legal_basis")),
    Element("conditions", "受理条件", "text", True, None, "", _required_text("conditions")),
    Element("review_criteria", "审查标准", "text", False, "",
            "what the reviewer checks", _optional_text("review_criteria")),
    Element("service_object", "服务对象", f"one or more of {', '.join(SERVICE_OBJECTS)}, "
            "joined by ','", True, None, "no value twice",
            _parts("service_object", SERVICE_OBJECTS, ",")),
    Element("legal_limit_days", "法定办结时限", "whole number (working days)", True, None,
            f"0-{MAX_LIMIT_DAYS}", _count("legal_limit_days")),
    Element("promised_limit_days", "承诺办结时限", "whole number (working days)", True, None,
            "at most legal_limit_days", _count("promised_limit_days")),
    Element("fees", "收费标准", "text", False, DEFAULT_FEES, "not empty",
            _required_text("fees")),
    Element("fee_basis", "收费依据", "text", False, "",
            f"required when fees is not {DEFAULT_FEES}", _optional_text("fee_basis")),
    Element("materials", "申请材料", "list of material tables (below)", True, None,
            "not empty; names unique",
            _table_list("materials", MATERIAL_ELEMENTS, _material, "{name, required, "
                        "deferrable, …}", non_empty=True)),
    Element("situations", "办理情形", "list of situation tables (below)", False, [],
            "names unique; each situation's materials among the item's",
            _table_list("situations", SITUATION_ELEMENTS, _situation, "{name, materials, …}",
                        non_empty=False)),
    Element("steps", "办理流程", "list of text", True, None, "not empty; no step twice",
            _steps),
    Element("handling_form", "办理形式", f"one or more of {', '.join(HANDLING_FORMS)}, joined "
            "by '、'", True, None, "no value twice",
            _parts("handling_form", HANDLING_FORMS, "、")),
    Element("online_depth", "网办深度", "whole number 1-4", True, None,
            "1 信息发布, 2 在线预约/下载, 3 在线预审, 4 全程网办", _online_depth),
    Element("scope", "通办范围", f"one of {', '.join(SCOPES)}", True, None, "",
            _choice("scope", SCOPES)),
    Element("result", "办理结果（证照）", f'"{NO_LICENCE}" or {{licence_type, valid_years}}',
            False, NO_LICENCE, "the licence type a concluded, approved case produces "
            "(valid_years 0 = 长期, up to 100)", _result),
    Element("result_name", "办理结果名称", "text", False, "(the licence type's name, else empty)",
            "what the applicant receives (e.g. 准予许可决定书)", _optional_text("result_name")),
    Element("result_sample", "结果样本", "text", False, "",
            "file name or address of a sample of the result, or empty",
            _optional_text("result_sample")),
    *MODE_ELEMENTS,
)




def _modes_fit_the_item(m: dict, fail: Fail) -> None:
    if m["decide_with_owed"] and not any(x.deferrable for x in m["materials"]):
        raise fail("decide_with_owed", "is true but no material allows 容缺 (deferrable)")
    committed = [x.name for x in m["materials"] if x.commitment]
    if committed and m["commitment_check_days"] < 1:
        raise fail("commitment_check_days", f"is missing or 0, but {committed[0]!r} allows "
                   "告知承诺: name the working days for the 核查 after the decision")
    if m["commitment_check_days"] and not committed:
        raise fail("commitment_check_days", "is given but no material allows 告知承诺 "
                   "(commitment = true)")


def _promised_within_legal(m: dict, fail: Fail) -> None:
    if m["promised_limit_days"] > m["legal_limit_days"]:
        raise fail("promised_limit_days", f"{m['promised_limit_days']} exceeds "
                   f"legal_limit_days {m['legal_limit_days']}")


def _fee_basis_when_charged(m: dict, fail: Fail) -> None:
    if m["fees"] != DEFAULT_FEES and not m["fee_basis"]:
        raise fail("fee_basis", f"is required when fees is not {DEFAULT_FEES} "
                   f"(fees: {m['fees']})")


def _situations_fit_the_item(m: dict, fail: Fail) -> None:
    known = {material.name for material in m["materials"]}
    for index, situation in enumerate(m["situations"], start=1):
        where = f"situations[{index}]"
        for name in situation["materials"]:
            if name not in known:
                raise fail(where, f"{situation['name']!r}: material {name!r} is not one of "
                           "the item's materials")
        days = situation["promised_limit_days"]
        if days is not None and days > m["legal_limit_days"]:
            raise fail(where, f"{situation['name']!r}: promised_limit_days {days} exceeds "
                       f"legal_limit_days {m['legal_limit_days']}")


@dataclass(frozen=True)
class CrossRule:
    rule: str
    check: Callable[[dict, Fail], None]


CROSS_RULES: tuple[CrossRule, ...] = (
    CrossRule("promised_limit_days is at most legal_limit_days", _promised_within_legal),
    CrossRule(f"fee_basis is required when fees is not {DEFAULT_FEES}", _fee_basis_when_charged),
    CrossRule("a situation names only the item's materials and promises at most the legal "
              "limit", _situations_fit_the_item),
    CrossRule("decide_with_owed needs a deferrable material; commitment_check_days is at "
              "least 1 exactly when a material allows 告知承诺", _modes_fit_the_item),
)


def to_matter(fields: dict, version: int) -> record_pb2.Matter:
    """The Matter record of parsed fields, defaults that depend on other elements filled."""
    result = None if fields["result"] == NO_LICENCE else fields["result"]
    situations = [record_pb2.Situation(
        name=s["name"], materials=s["materials"],
        promised_limit_days=(fields["promised_limit_days"] if s["promised_limit_days"] is None
                             else s["promised_limit_days"])) for s in fields["situations"]]
    values = {**fields, "situations": situations, "version": version, "result": result}
    if values["main_item"] == "(the name)":
        values["main_item"] = fields["name"]
    if values["result_name"] == "(the licence type's name, else empty)":
        values["result_name"] = result.type_name if result is not None else ""
    return record_pb2.Matter(**values)


def _table(elements: tuple[Element, ...]) -> list[str]:
    rows = ["| element | 名称 | type | required | default | rule |", "|---|---|---|---|---|---|"]
    for e in elements:
        if e.required:
            default = "—"
        elif isinstance(e.default, str) and e.default.startswith("("):
            default = e.default
        else:
            default = f"`{json.dumps(e.default, ensure_ascii=False)}`"
        rows.append(f"| `{e.key}` | {e.label} | {e.type} | {'yes' if e.required else 'no'} | "
                    f"{default} | {e.rule or '—'} |")
    return rows


def markdown() -> str:
    """docs/catalogue.md: the file format, every element, type and rule."""
    out = [
        "# Catalogue file format (事项实施清单)", "",
        "Generated from node/catalogue_schema.py by `python -m ops.gendocs`; do not edit.",
        "The same tables drive the checks, so this reference is what is enforced.", "",
        "A catalogue file is TOML with an array of tables `[[matters]]`, or JSON holding one "
        "item object, a list of them, or `{\"matters\": [...]}`. Keys are the element names "
        "below (the `tongban.v1.Matter` field names). Unknown keys are refused, so a misspelt "
        "key cannot silently drop an element; `version` is not a file element (the publisher "
        "assigns versions). Text is trimmed; a bad item refuses the whole file with one line "
        "naming the item and the element. Limits are working days. A file is at most 16 MiB.",
        "", "Example: node/data/sample_catalogue.toml (the shipped 城关区 list).", "",
        "## Item elements", "", *_table(ELEMENTS), "",
        "## Material elements (`materials = [{…}, …]`)", "", *_table(MATERIAL_ELEMENTS), "",
        "Rules: a deferrable material must be required; `issuer` is given exactly when "
        f"`source` is {ISSUED_BY_GOVERNMENT}.", "",
        "## Situation elements (`situations = [{…}, …]`, 办理情形)", "",
        *_table(SITUATION_ELEMENTS), "",
        "## Rules between elements", "", *[f"- {r.rule}" for r in CROSS_RULES], "",
        "## Base catalogue (基本目录) and 四级四同", "",
        "An item that is not `local` names its base item by `base_code`. Its `name`, `type` "
        "and `legal_basis` must equal the base item's and its `level` must be one of the base "
        "item's exercising levels (with the code itself, the four shared elements: 同一名称、"
        "同一类型、同一依据、同一编码). A node that holds base items refuses to publish an item "
        "that differs, with one line naming the element; an item received from another node "
        "that differs is listed by `tongban matter check` and `tongban problems`.", "",
        "Base catalogue files (`tongban matter base publish FILE`) hold `[[base]]` tables:", "",
        *_table(BASE_ELEMENTS), "",
    ]
    return "\n".join(out)


BASE_ELEMENTS: tuple[Element, ...] = (
    Element("base_code", "基本编码", "code (string)", True, None,
            "6-20 capital letters and digits", parse_base_code),
    Element("name", "事项名称", "text", True, None, "", _required_text("name")),
    Element("type", "事项类型", f"one of {', '.join(TYPES)}", True, None, "",
            _choice("type", TYPES)),
    Element("legal_basis", "设定依据", "text", True, None, "", _required_text("legal_basis")),
    Element("levels", "行使层级", f"one or more of {', '.join(LEVELS)}, joined by ','", True,
            None, "no value twice", lambda v, fail, _t: split_parts(v, fail, "levels", LEVELS)),
    Element("main_item", "主项名称", "text", False, "(the name)", "",
            _optional_text("main_item")),
    Element("sub_item", "子项名称", "text", False, "", "", _optional_text("sub_item")),
)
