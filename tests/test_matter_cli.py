"""Catalogue commands on a real node: import, versions, retire, refusals."""

import json

from node_fixtures import ID_OK, dump_projections, make_node, run


def _item(code="540102-GG-900", promised=5):
    return {
        "base_code": "GG00190000", "impl_code": code, "name": "测试事项", "type": "公共服务",
        "level": "县级", "body_name": "拉萨市城关区民政局", "body_uscc": "11540102015712342L",
        "legal_basis": "《测试条例》", "legal_limit_days": 10,
        "promised_limit_days": promised, "service_object": "自然人",
        "materials": [{"name": "居民身份证", "required": True, "deferrable": False}],
        "conditions": "无", "steps": ["受理", "决定"], "handling_form": "窗口办理",
        "online_depth": 1, "scope": "县内通办", "fees": "不收费",
    }


def test_import_is_idempotent_and_changes_make_versions(tmp_path):
    home = make_node(tmp_path, sample=False)
    path = tmp_path / "items.json"
    path.write_text(json.dumps([_item()]), encoding="utf-8")
    assert run(home, "matter", "import", str(path)).output.splitlines() == [
        "new       540102-GG-900 v1", "1 published, 0 unchanged"]
    assert run(home, "matter", "import", str(path)).output.splitlines() == [
        "unchanged 540102-GG-900 v1", "0 published, 1 unchanged"]
    case = run(home, "case", "apply", "--matter", "540102-GG-900", "--applicant", ID_OK,
               "--name", "n", "--material", "居民身份证").output.split()[0]
    path.write_text(json.dumps([_item(promised=3)]), encoding="utf-8")
    assert "changed   540102-GG-900 v2" in run(home, "matter", "import", str(path)).output
    shown = json.loads(run(home, "matter", "show", "540102-GG-900", "--json").output)
    assert shown["version"] == 2 and shown["promised_limit_days"] == 3
    kept = json.loads(run(home, "case", "show", case, "--json").output)
    assert kept["matter_version"] == 1 and kept["limit_days"] == 5


def test_bad_item_refuses_the_whole_file(tmp_path):
    home = make_node(tmp_path, sample=False)
    bad = _item("540102-GG-901", promised=30)
    path = tmp_path / "items.json"
    path.write_text(json.dumps([_item(), bad]), encoding="utf-8")
    before = dump_projections(home / "node.db")
    result = run(home, "matter", "import", str(path), ok=False)
    assert result.exit_code == 1
    assert "matter 540102-GG-901" in result.output and "promised_limit_days" in result.output
    assert dump_projections(home / "node.db") == before


def test_retired_matter_takes_no_new_cases(tmp_path):
    home = make_node(tmp_path, sample=False)
    path = tmp_path / "items.json"
    path.write_text(json.dumps(_item()), encoding="utf-8")
    run(home, "matter", "import", str(path))
    assert run(home, "matter", "retire", "540102-GG-900", "--reason", "事项取消"
               ).output.strip() == "retired 540102-GG-900 v1 测试事项"
    refused = run(home, "case", "apply", "--matter", "540102-GG-900", "--applicant", ID_OK,
                  "--name", "n", ok=False)
    assert refused.exit_code == 1
    assert "matter 540102-GG-900 is retired and takes no new cases" in refused.output
    assert json.loads(run(home, "matter", "list", "--json").output) == []
    assert len(json.loads(run(home, "matter", "list", "--all", "--json").output)) == 1


def test_matter_add_from_the_command_line(tmp_path):
    home = make_node(tmp_path, sample=False)
    out = run(home, "matter", "add", "--impl-code", "540102-GG-902", "--base-code", "GG00190200",
              "--name", "居住证明开具", "--type", "公共服务", "--body-name", "城关区民政局",
              "--body-uscc", "11540102015712342L", "--legal-basis", "《居住证暂行条例》",
              "--legal-limit", "5", "--promised-limit", "1", "--conditions", "无",
              "--material", "居民身份证", "--material", "租房合同:deferrable").output
    assert out.splitlines()[0] == "new       540102-GG-902 v1"
    shown = json.loads(run(home, "matter", "show", "540102-GG-902", "--json").output)
    assert shown["materials"][1] == {"name": "租房合同", "required": True, "deferrable": True,
                                     "format": "纸质", "copies": 1, "source": "申请人自备"}


def test_matter_add_with_every_new_element_and_show_json(tmp_path):
    home = make_node(tmp_path, sample=False)
    run(home, "matter", "add", "--impl-code", "540102-GG-903", "--base-code", "GG00190300",
        "--name", "居住证核发", "--type", "公共服务", "--body-name", "城关分局",
        "--body-uscc", "11540102015712342L", "--legal-basis", "《居住证暂行条例》",
        "--legal-limit", "15", "--promised-limit", "10", "--conditions", "居住半年以上",
        "--fees", "换领工本费20元", "--fee-basis", "《居住证暂行条例》（条款号待核实）",
        "--review-criteria", "居住半年以上", "--result-name", "居住证",
        "--result-sample", "居住证样本.pdf", "--main-item", "居住证", "--sub-item", "首次申领",
        "--local", "--material", "居民身份证:gov=公安机关", "--material", "租房合同:deferrable",
        "--situation", "首次申领=居民身份证,租房合同:5")
    shown = json.loads(run(home, "matter", "show", "540102-GG-903", "--json").output)
    assert {k: shown[k] for k in ("fee_basis", "review_criteria", "result_name",
                                  "result_sample", "main_item", "sub_item", "local")} == {
        "fee_basis": "《居住证暂行条例》（条款号待核实）", "review_criteria": "居住半年以上",
        "result_name": "居住证", "result_sample": "居住证样本.pdf", "main_item": "居住证",
        "sub_item": "首次申领", "local": True}
    assert shown["materials"][0]["source"] == "政府部门核发"
    assert shown["materials"][0]["issuer"] == "公安机关"
    assert shown["situations"] == [{"name": "首次申领", "materials": ["居民身份证", "租房合同"],
                                    "promised_limit_days": 5}]


def test_matter_add_refuses_a_charge_without_its_basis_and_writes_nothing(tmp_path):
    home = make_node(tmp_path, sample=False)
    before = dump_projections(home / "node.db")
    refused = run(home, "matter", "add", "--impl-code", "540102-GG-904", "--base-code",
                  "GG00190400", "--name", "x", "--type", "公共服务", "--body-name", "b",
                  "--body-uscc", "11540102015712342L", "--legal-basis", "l", "--legal-limit",
                  "5", "--promised-limit", "1", "--conditions", "c", "--fees", "10元",
                  "--material", "m", ok=False)
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        "error: matter 540102-GG-904: fee_basis is required when fees is not 不收费 "
        "(fees: 10元)"]
    assert dump_projections(home / "node.db") == before
