"""A node whose projection tables have an older layout rebuilds them on open."""

import json
import sqlite3

from node_fixtures import dump_projections, make_node, run

from node import projection


def test_old_projection_layout_is_rebuilt_from_the_log(tmp_path):
    home = make_node(tmp_path)
    run(home, "case", "list")
    expected = dump_projections(home / "node.db")
    listing = run(home, "matter", "list", "--json").output
    assert len(json.loads(listing)) == 28  # the sample catalogue
    db = sqlite3.connect(home / "node.db")
    db.execute("DROP TABLE matters")
    db.execute("CREATE TABLE matters (impl_code TEXT)")  # a layout from an older release
    db.execute("UPDATE projection_schema SET version = ?", (projection.SCHEMA - 1,))
    db.commit()
    db.close()
    assert run(home, "matter", "list", "--json").output == listing
    assert dump_projections(home / "node.db") == expected
