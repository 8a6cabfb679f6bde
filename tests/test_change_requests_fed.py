"""A change request (会签) round trip through a real three-level federation.

National 000000 publishes the base catalogue; county 540102 (below region
540000) proposes renaming one base item; the request travels up with the
county's log, the national node approves it, and the new base version and the
answer travel down with the national log, once over the network (real
`tongban serve`, mutual TLS) and once by bundles carried by hand. On the way,
四级四同 deviations are found at every level of the tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import tomli_w
from node_fixtures import tongban

from node.catalogue_file import sample_catalogue
from ops.fedcheck import COUNTY, REGION
from ops.localfed import Federation

NATIONAL = "000000"
RENAMED = "居住证申领"


def _renamed_item(path: Path) -> Path:
    item = next(i for i in sample_catalogue(COUNTY) if i["impl_code"] == "540102-GG-001")
    item["name"] = RENAMED
    path.write_text(tomli_w.dumps({"matters": [item]}), encoding="utf-8")
    return path


def _json(*args: str, home: Path) -> object:
    return json.loads(tongban(*args, "--json", home=home).stdout)


def _deviations(home: Path, *args: str) -> list[tuple[str, str, str]]:
    done = tongban("matter", "check", *args, "--json", home=home, check=False)
    found = json.loads(done.stdout)["deviations"]
    assert done.returncode == (1 if found else 0)
    return [(d["publisher"], d["impl_code"], d["element"]) for d in found]


def _round_trip(fed: Federation, tmp_path: Path, up, down) -> None:
    """``up()`` carries the county's and region's logs up, ``down()`` the national log down."""
    national, region, county = (fed.nodes[d].home for d in (NATIONAL, REGION, COUNTY))
    tongban("matter", "base", "publish", "--sample", home=national)
    tongban("matter", "base", "publish", "--sample", home=region)  # the national entry wins
    down()
    assert _deviations(county) == []
    held = _json("matter", "base", "list", home=county)
    assert [(b["origin"], b["version"]) for b in held if b["base_code"] == "GG00101000"] == [
        (NATIONAL, 1), (REGION, 1)]

    changed = _renamed_item(tmp_path / "changed.toml")
    sent = _json("matter", "propose", str(changed), "--reason", "与国家目录名称统一",
                 home=county)
    assert [s["recipient"] for s in sent] == [NATIONAL]
    request_id = sent[0]["id"]
    up()
    pending = _json("matter", "requests", home=national)
    assert [(r["id"], r["status"], r["base_code"]) for r in pending] == [
        (request_id, "pending", "GG00101000")]
    approved = _json("matter", "approve", request_id, home=national)
    assert [(r["status"], r["base_version"]) for r in approved] == [("approved", 2)]
    down()

    seen = _json("matter", "requests", home=county)
    assert [(r["id"], r["status"], r["base_version"]) for r in seen] == [
        (request_id, "approved", 2)]
    held = _json("matter", "base", "list", home=county)
    assert [(b["origin"], b["version"], b["name"]) for b in held
            if b["base_code"] == "GG00101000"] == [
        (NATIONAL, 2, RENAMED), (REGION, 1, "居住证核发")]
    # the county's item now differs from the new base version, at every level of the tree
    assert _deviations(county) == [(COUNTY, "540102-GG-001", "name")]
    assert _deviations(region, "--subtree") == [(COUNTY, "540102-GG-001", "name")]
    assert _deviations(national, "--subtree") == [(COUNTY, "540102-GG-001", "name")]
    assert tongban("matter", "import", str(changed), home=county).stdout.splitlines()[0] == (
        "changed   540102-GG-001 v2")
    up()
    assert _deviations(county) == []
    assert _deviations(national, "--subtree") == []


def test_change_request_round_trip_over_the_network(fed_copy, tmp_path):
    fed = fed_copy
    fed.start(NATIONAL)
    fed.start(REGION)

    def up() -> None:
        fed.sync(COUNTY)
        fed.sync(REGION)

    def down() -> None:
        fed.sync(REGION)
        fed.sync(COUNTY)

    _round_trip(fed, tmp_path, up, down)


def test_change_request_round_trip_by_bundle(fed_copy, tmp_path):
    fed = fed_copy
    homes = {d: fed.nodes[d].home for d in (NATIONAL, REGION, COUNTY)}
    count = iter(range(1000))

    def carry(child: str, parent: str) -> None:
        """One bundle up and its reply down (what a USB stick carries both ways)."""
        n = next(count)
        up_file, reply = tmp_path / f"{n}-up.tbb", tmp_path / f"{n}-down.tbb"
        tongban("bundle", "export", "--for-parent", "--out", str(up_file), home=homes[child])
        tongban("bundle", "import", str(up_file), "--reply", str(reply), home=homes[parent])
        tongban("bundle", "import", str(reply), home=homes[child])

    def up() -> None:
        carry(COUNTY, REGION)
        carry(REGION, NATIONAL)

    def down() -> None:
        carry(REGION, NATIONAL)
        carry(COUNTY, REGION)

    _round_trip(fed, tmp_path, up, down)
