"""The two-region federation of the cross-region suite, built once per session.

National 000000 (CA, and publisher of the 跨省通办 list) → Tibet 540000 → 540100 →
540102, 540121, and → Xinjiang 650000 → 650100 → 650102, each enrolled with the
real ``tongban pki`` commands. The three counties load the sample catalogue (codes
in their own namespaces) and register the test staff; 000000 publishes
ops/data/crossregion_list.toml, and ``spread_list`` syncs it down to every county.
"""

from __future__ import annotations

from pathlib import Path

from node_fixtures import register_staff, tongban

from ops.localfed import Federation

LIST_FILE = Path(__file__).resolve().parents[1] / "ops" / "data" / "crossregion_list.toml"
TREE = (("000000", None), ("540000", "000000"), ("540100", "540000"), ("540102", "540100"),
        ("540121", "540100"), ("650000", "000000"), ("650100", "650000"),
        ("650102", "650100"))
COUNTIES = ("540102", "540121", "650102")
PARENTS = ("000000", "540000", "540100", "650000", "650100")


def build(root: Path) -> Federation:
    fed = Federation(root, run=tongban)
    for division, parent in TREE:
        fed.add(division, parent)
    for county in COUNTIES:
        tongban("matter", "import", "--sample", home=fed.nodes[county].home)
        register_staff(fed.nodes[county].home)
    tongban("crossregion", "publish", str(LIST_FILE), home=fed.nodes["000000"].home)
    return fed


def path_between(a: str, b: str) -> list[str]:
    """The nodes a record from ``a`` passes to reach ``b``, in sync order: ``a``'s line up
    to the common ancestor (each syncs to its parent), then down to ``b`` (each pulls)."""
    parent = dict(TREE)

    def line(node: str) -> list[str]:
        out = [node]
        while parent[out[-1]] is not None:
            out.append(parent[out[-1]])  # type: ignore[arg-type]
        return out

    up, down = line(a), line(b)
    common = next(n for n in up if n in down)
    return up[:up.index(common)] + list(reversed(down[:down.index(common)]))


def carry(fed: Federation, a: str, b: str, by_bundle: frozenset[str] = frozenset()) -> None:
    """Exchange on every link from ``a`` to ``b`` in order, so what ``a`` wrote reaches
    ``b``: over the network (`sync --once`), or by bundle files for the children named in
    ``by_bundle`` (their link is down: export, import with a reply, import the reply)."""
    for division in path_between(a, b):
        if division in by_bundle:
            hop_by_bundle(fed, division)
        else:
            fed.sync(division)


def hop_by_bundle(fed: Federation, child: str) -> None:
    node = fed.nodes[child]
    assert node.parent is not None
    up, down = fed.root / f"{child}-up.tbb", fed.root / f"{child}-down.tbb"
    tongban("bundle", "export", "--for-parent", "--out", str(up), home=node.home)
    tongban("bundle", "import", str(up), "--reply", str(down), home=node.parent.home)
    tongban("bundle", "import", str(down), home=node.home)


def spread_list(fed: Federation) -> None:
    """The national list goes down to every county."""
    for county in COUNTIES:
        carry(fed, "000000", county)
