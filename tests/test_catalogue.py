"""Catalogue items: the shipped sample, every element's check, and the file formats."""

import copy
import json
import re
import tomllib

import pytest
import tomli_w
from node_fixtures import make_node

from node.catalogue_file import (
    TYPES,
    CatalogueError,
    load_file,
    parse_matter,
    sample_catalogue_path,
)
from node.home import Home
from node.ids import check_uscc
from node.matters import MatterError, publish
from node.store import NodeStore
from pki.errors import EnvironmentProblem, InputError, MalformedError

ITEM = {
    "base_code": "XK00101000",
    "impl_code": "540102-XK-001",
    "name": "个体工商户设立登记",
    "type": "行政许可",
    "level": "县级",
    "body_name": "拉萨市城关区市场监督管理局",
    "body_uscc": "11540102MB1R70539D",
    "legal_basis": "《中华人民共和国市场主体登记管理条例》第十九条",
    "conditions": "有经营能力的自然人",
    "service_object": "自然人",
    "legal_limit_days": 20,
    "promised_limit_days": 5,
    "fees": "不收费",
    "materials": [
        {"name": "经营者身份证明", "required": True, "deferrable": False},
        {"name": "经营场所使用证明", "required": True, "deferrable": True},
        {"name": "委托书", "required": False, "deferrable": False},
    ],
    "steps": ["受理", "审查", "决定", "送达"],
    "handling_form": "窗口办理、网上办理",
    "online_depth": 4,
    "scope": "县内通办",
}


DELETE = object()


def with_(**changes):
    item = copy.deepcopy(ITEM)
    for key, value in changes.items():
        if value is DELETE:
            del item[key]
        else:
            item[key] = value
    return item


def test_a_good_item_becomes_a_matter():
    matter = parse_matter(ITEM, version=3)
    assert matter.impl_code == "540102-XK-001" and matter.version == 3
    assert matter.legal_limit_days == 20 and matter.promised_limit_days == 5
    assert [(m.name, m.required, m.deferrable) for m in matter.materials] == [
        ("经营者身份证明", True, False),
        ("经营场所使用证明", True, True),
        ("委托书", False, False),
    ]
    assert list(matter.steps) == ["受理", "审查", "决定", "送达"]
    assert matter.online_depth == 4 and matter.scope == "县内通办"


def test_promised_limit_above_legal_limit_names_item_and_element():
    with pytest.raises(CatalogueError) as info:
        parse_matter(with_(promised_limit_days=30))
    assert str(info.value) == (
        "matter 540102-XK-001: promised_limit_days 30 exceeds legal_limit_days 20"
    )
    assert isinstance(info.value, InputError)


def test_limits_of_zero_are_an_immediate_item():
    matter = parse_matter(with_(legal_limit_days=0, promised_limit_days=0))
    assert matter.legal_limit_days == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"base_code": 101000}, "base_code must be a string, got 101000 (quote it"),
        ({"base_code": "xk-001"}, "base_code 'xk-001': want 6-20 capital letters and digits"),
        ({"impl_code": "540102"}, "impl_code '540102': want 8-40"),
        ({"impl_code": "540102--XK-001"}, "impl_code '540102--XK-001': want 8-40"),
        ({"impl_code": "540102-XK-001-"}, "want 8-40"),
        ({"impl_code": "5" * 41}, "want 8-40"),
        ({"name": "  "}, "name is empty"),
        ({"name": 7}, "name must be text, got int"),
        ({"type": "行政审批"}, "type '行政审批': want one of 行政许可"),
        ({"level": "区级"}, "level '区级': want one of 国家级"),
        ({"body_name": ""}, "body_name is empty"),
        ({"body_uscc": "11540102MB1R70539E"}, "body_uscc is wrong: bad unified social credit"),
        ({"body_uscc": "1154010"}, "body_uscc is wrong"),
        ({"legal_basis": ""}, "legal_basis is empty"),
        ({"conditions": ""}, "conditions is empty"),
        ({"service_object": "个人"}, "service_object '个人': want one or more of 自然人"),
        ({"service_object": "自然人,自然人"}, "service_object names a value twice"),
        ({"legal_limit_days": -1}, "legal_limit_days -1 is negative"),
        ({"legal_limit_days": 2.5}, "legal_limit_days must be a whole number, got 2.5"),
        ({"promised_limit_days": True}, "promised_limit_days must be a whole number"),
        ({"fees": ""}, "fees is empty"),
        ({"materials": []}, "materials must be a non-empty list"),
        ({"materials": [{"name": "x", "required": True}]}, "materials[1] missing deferrable"),
        (
            {"materials": [{"name": " ", "required": True, "deferrable": False}]},
            "materials[1] name is empty",
        ),
        (
            {"materials": [{"name": "x", "required": "yes", "deferrable": False}]},
            "materials[1] required must be true or false, got 'yes'",
        ),
        (
            {"materials": [{"name": "x", "required": False, "deferrable": True}]},
            "materials[1] 'x' is deferrable (容缺) but not required",
        ),
        (
            {
                "materials": [
                    {"name": "x", "required": True, "deferrable": False},
                    {"name": "x", "required": False, "deferrable": False},
                ]
            },
            "materials[2] 'x' is listed twice",
        ),
        ({"steps": []}, "steps must be a non-empty list"),
        ({"steps": ["受理", ""]}, "steps[2] is empty or not text"),
        ({"steps": ["受理", "受理"]}, "steps names a step twice"),
        ({"handling_form": "当面"}, "handling_form '当面': want one or more of 窗口办理"),
        ({"online_depth": 0}, "online_depth 0: want 1 (信息发布) to 4 (全程网办)"),
        ({"online_depth": 5}, "online_depth 5"),
        ({"scope": "全省通办"}, "scope '全省通办': want one of 全国通办"),
        ({"promise_days": 3}, "promise_days is not a known element"),
        ({"version": 2}, "version is not a file element"),
        ({"fees": "20元"}, "fee_basis is required when fees is not 不收费 (fees: 20元)"),
        ({"review_criteria": 3}, "review_criteria must be text, got int"),
        ({"local": "yes"}, "local must be true or false, got 'yes'"),
        ({"materials": [{"name": "x", "required": True, "deferrable": False, "copies": 0}]},
         "materials[1] copies 0: want a whole number from 1 to 20"),
        ({"materials": [{"name": "x", "required": True, "deferrable": False, "format": "胶片"}]},
         "materials[1] format '胶片': want one or more of 纸质, 电子"),
        ({"materials": [{"name": "x", "required": True, "deferrable": False,
                         "source": "政府部门核发"}]},
         "materials[1] 'x': issuer names the issuing body exactly when source is 政府部门核发"),
        ({"materials": [{"name": "x", "required": True, "deferrable": False, "issuer": "民政"}]},
         "materials[1] 'x': issuer names the issuing body exactly when source is 政府部门核发"),
        ({"materials": [{"name": "x", "required": True, "deferrable": False, "source": "网上"}]},
         "materials[1] source '网上': want one of 申请人自备"),
        ({"materials": [{"name": "x", "required": True, "deferrable": False, "colour": "红"}]},
         "materials[1] colour is not a known element"),
        ({"situations": [{"name": "甲", "materials": ["不存在"]}]},
         "situations[1] '甲': material '不存在' is not one of the item's materials"),
        ({"situations": [{"name": "甲", "materials": ["委托书"], "promised_limit_days": 21}]},
         "situations[1] '甲': promised_limit_days 21 exceeds legal_limit_days 20"),
        ({"situations": [{"name": "甲", "materials": ["委托书"]},
                         {"name": "甲", "materials": ["委托书"]}]},
         "situations[2] '甲' is listed twice"),
        ({"situations": [{"name": "甲", "materials": []}]},
         "situations[1] materials must be a non-empty list of material names"),
        ({"situations": [{"materials": ["委托书"]}]}, "situations[1] missing name"),
        ({"scope": DELETE, "steps": DELETE}, "missing scope, steps"),
    ],
)
def test_every_element_is_checked(changes, message):
    with pytest.raises(CatalogueError) as info:
        parse_matter(with_(**changes))
    label = changes.get("impl_code", ITEM["impl_code"])
    assert str(info.value).startswith(f"matter {label}: ")
    assert message in str(info.value)


def test_new_elements_and_their_defaults():
    plain = parse_matter(ITEM)
    assert (plain.main_item, plain.sub_item, plain.result_name, plain.fee_basis,
            plain.local) == ("个体工商户设立登记", "", "", "", False)
    first = plain.materials[0]
    assert (first.format, first.copies, first.source, first.issuer) == ("纸质", 1, "申请人自备", "")
    full = parse_matter(with_(
        main_item="个体工商户登记", sub_item="设立登记", result_name="营业执照",
        result_sample="营业执照样本.pdf", review_criteria="材料齐全", fees="工本费5元",
        fee_basis="《某办法》（条款号待核实）", local=True,
        materials=[{"name": "经营者身份证明", "required": True, "deferrable": False,
                    "format": "纸质,电子", "copies": 2, "legal_basis": "《条例》第十九条",
                    "sample": "样表.pdf", "source": "政府部门核发", "issuer": "公安机关"},
                   {"name": "委托书", "required": False, "deferrable": False}],
        situations=[{"name": "本人办理", "materials": ["经营者身份证明"]},
                    {"name": "委托办理", "materials": ["经营者身份证明", "委托书"],
                     "promised_limit_days": 7}]))
    assert (full.main_item, full.sub_item, full.result_name, full.result_sample,
            full.review_criteria, full.fee_basis, full.local) == (
        "个体工商户登记", "设立登记", "营业执照", "营业执照样本.pdf", "材料齐全",
        "《某办法》（条款号待核实）", True)
    first = full.materials[0]
    assert (first.format, first.copies, first.legal_basis, first.sample, first.source,
            first.issuer) == ("纸质,电子", 2, "《条例》第十九条", "样表.pdf", "政府部门核发",
                              "公安机关")
    assert [(s.name, list(s.materials), s.promised_limit_days) for s in full.situations] == [
        ("本人办理", ["经营者身份证明"], 5), ("委托办理", ["经营者身份证明", "委托书"], 7)]


def test_a_licence_result_names_the_result_by_default():
    matter = parse_matter(with_(result={"licence_type": "SC0001", "valid_years": 0}))
    assert matter.result_name == matter.result.type_name != ""


def test_every_matter_field_of_this_range_has_an_element_in_the_schema():
    """The schema is the one list: a Matter field (elements and handling modes: below 50)
    without an element could never be set from a file or documented."""
    from node.catalogue_schema import ELEMENTS, MATERIAL_ELEMENTS
    from protos.tongban.v1 import record_pb2

    matter_fields = {f.name for f in record_pb2.Matter.DESCRIPTOR.fields if f.number < 50}
    assert matter_fields - {"version"} == {e.key for e in ELEMENTS}
    material_fields = {f.name for f in record_pb2.Material.DESCRIPTOR.fields if f.number < 30}
    assert material_fields == {e.key for e in MATERIAL_ELEMENTS}


def test_sample_fills_the_new_elements_and_says_where_an_article_is_uncertain():
    matters = {m.impl_code: m for m in map(parse_matter, load_file(sample_catalogue_path()))}
    assert all(m.result_name for m in matters.values())
    charged = [m for m in matters.values() if m.fees != "不收费"]
    assert len(charged) == 3 and all(m.fee_basis for m in charged)
    assert "条款号待核实" in matters["540102-GG-001"].fee_basis
    assert [s.name for s in matters["540102-XK-001"].situations] == ["经营者本人办理",
                                                                     "委托代理人办理"]
    exempt = [x.name for m in matters.values() for x in m.materials
              if x.source == "政府部门核发"]
    assert "居民户口簿" in exempt and "出生医学证明" in exempt


def test_item_without_impl_code_is_named_by_base_code():
    with pytest.raises(CatalogueError, match=r"^matter XK00101000: missing impl_code$"):
        parse_matter(with_(impl_code=DELETE))


def test_bad_version_and_bad_item():
    with pytest.raises(CatalogueError, match="version 0: want an integer >= 1"):
        parse_matter(ITEM, version=0)
    with pytest.raises(CatalogueError, match="want a table/object, got list"):
        parse_matter([ITEM])  # type: ignore[arg-type]


def test_fees_default_and_list_elements_are_normalised():
    matter = parse_matter(
        with_(fees=DELETE, service_object="自然人，法人", handling_form="窗口办理, 网上办理")
    )
    assert matter.fees == "不收费"
    assert matter.service_object == "自然人,法人"
    assert matter.handling_form == "窗口办理、网上办理"


def test_long_national_style_impl_code_is_accepted():
    code = "11540102MB1R70539D4000122005000"
    assert parse_matter(with_(impl_code=code)).impl_code == code


def test_sample_catalogue_is_a_realistic_county_list():
    path = sample_catalogue_path()
    assert path.name == "sample_catalogue.toml" and path.is_file()
    matters = [parse_matter(item) for item in load_file(path)]
    assert len(matters) >= 22
    codes = [m.impl_code for m in matters]
    assert len(set(codes)) == len(codes)
    assert all(code.startswith("540102-") for code in codes)
    assert all(check_uscc(m.body_uscc).region == "540102" for m in matters)
    assert all(m.legal_limit_days >= m.promised_limit_days for m in matters)
    assert all("《" in m.legal_basis for m in matters)
    assert {m.type for m in matters} >= {"行政许可", "行政给付", "行政确认", "公共服务"}
    assert {m.type for m in matters} <= set(TYPES)
    names = " ".join(m.name for m in matters)
    for expected in (
        "户口迁移",
        "居住证",
        "最低生活保障",
        "林木采伐",
        "草原",
        "宅基地",
        "结婚登记",
    ):
        assert expected in names
    deferrable = [m for m in matters if any(x.deferrable for x in m.materials)]
    assert len(deferrable) >= 15
    assert any(m.promised_limit_days == 0 for m in matters)


def test_sample_file_items_each_parse(tmp_path):
    items = load_file(sample_catalogue_path())
    for item in items:
        assert parse_matter(item).name == item["name"]


def test_duplicate_impl_code_in_one_file_is_refused(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text(json.dumps([ITEM, ITEM], ensure_ascii=False), encoding="utf-8")
    store = NodeStore.open(Home(make_node(tmp_path, sample=False)))
    with pytest.raises(MatterError, match="matter 540102-XK-001 appears twice in the input"):
        publish(store, load_file(path))
    store.close()


@pytest.mark.parametrize(
    "shape",
    [lambda i: i, lambda i: [i], lambda i: {"matters": [i]}],
    ids=["object", "list", "matters"],
)
def test_json_shapes(tmp_path, shape):
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(shape(ITEM), ensure_ascii=False), encoding="utf-8")
    assert load_file(path) == [ITEM]


def test_toml_round_trip(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text(tomli_w.dumps({"matters": [ITEM]}), encoding="utf-8")
    assert load_file(path) == [ITEM]
    assert tomllib.loads(path.read_text(encoding="utf-8"))["matters"][0]["name"] == ITEM["name"]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("bad.toml", b"[[matters]\nname = 1", "malformed catalogue file"),
        ("bad.toml", b"[other]\nx = 1", "want an array of tables"),
        ("bad.json", b'{"matters": [', "at line 1 column"),
        ("bad.json", b"[1, 2]", "item 1 is a int"),
        ("bad.json", b"\xff\xfe{}", "not UTF-8"),
        ("bad.yaml", b"matters: []", "unknown extension '.yaml'"),
    ],
)
def test_malformed_files(tmp_path, name, content, why):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MalformedError, match=re.escape(why)):
        load_file(path)


def test_missing_file_is_an_environment_problem(tmp_path):
    with pytest.raises(EnvironmentProblem, match=r"^no catalogue file at "):
        load_file(tmp_path / "absent.toml")
