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
    assert shown["materials"][1] == {"name": "租房合同", "required": True, "deferrable": True}
