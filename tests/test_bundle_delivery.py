"""A notice to a sibling reaches it by USB stick alone: bundles carry deliveries too."""

import json

from node_fixtures import tongban

from ops.localfed import log_records


def test_notice_to_a_sibling_travels_by_bundles(fed_copy, tmp_path):
    fed = fed_copy
    fed.add("540121", "540000")
    sender, receiver = fed.nodes["540102"].home, fed.nodes["540121"].home
    region = fed.nodes["540000"].home
    tongban("notice", "send", "--to", "540121", "--title", "草场界线协调会",
            "--text", "定于下周二召开", home=sender)
    up = tmp_path / "up-540102.tbb"
    tongban("bundle", "export", "--for-parent", "--out", str(up), home=sender)
    tongban("bundle", "import", str(up), home=region)
    up2, down2 = tmp_path / "up-540121.tbb", tmp_path / "down-540121.tbb"
    tongban("bundle", "export", "--for-parent", "--out", str(up2), home=receiver)
    tongban("bundle", "import", str(up2), "--reply", str(down2), home=region)
    out = tongban("bundle", "import", str(down2), home=receiver)
    assert "delivery 540102#" in out.stdout + out.stderr
    notices = json.loads(tongban("notice", "list", "--json", home=receiver).stdout)
    assert [(n["origin"], n["title"]) for n in notices] == [("540102", "草场界线协调会")]
    assert log_records(receiver, "540102") == []
    again = tongban("bundle", "import", str(down2), home=receiver)
    assert "delivery" not in again.stdout + again.stderr
