"""The transparency-dev RFC 9162 proof vectors (tests/data/merkle), run through sync.merkle."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sync import merkle

DATA = Path(__file__).parent / "data" / "merkle"

# RFC 6962's reference leaves (its test suite), and the roots of their prefixes.
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]


def _vectors(kind: str) -> list[Path]:
    paths = sorted((DATA / kind).rglob("*.json"))
    assert paths, f"no {kind} vectors under {DATA}"
    return paths


def _hash(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(value: list[str] | None) -> list[bytes]:
    return [] if value is None else [_hash(h) for h in value]


def _id(path: Path) -> str:
    return str(path.relative_to(DATA))


@pytest.mark.parametrize("path", _vectors("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())

    def verify() -> None:
        merkle.verify_inclusion(v["leafIdx"], v["treeSize"], _hash(v["leafHash"]),
                                _proof(v["proof"]), _hash(v["root"]))

    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            verify()
    else:
        verify()


@pytest.mark.parametrize("path", _vectors("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())

    def verify() -> None:
        merkle.verify_consistency(v["size1"], v["size2"], _hash(v["root1"]), _hash(v["root2"]),
                                  _proof(v["proof"]))

    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            verify()
    else:
        verify()


def test_vector_set_is_complete() -> None:
    """Guards against a partial copy silently shrinking the suite."""
    assert len(_vectors("inclusion")) == 98
    assert len(_vectors("consistency")) == 98


def test_happy_path_roots_are_the_reference_roots() -> None:
    """The vectors and the RFC 6962 reference leaves describe the same trees."""
    checked = 0
    for path in sorted(DATA.rglob("happy-path.json")):
        v = json.loads(path.read_text())
        for size, root in ((v.get("treeSize"), v.get("root")), (v.get("size1"), v.get("root1")),
                           (v.get("size2"), v.get("root2"))):
            if size:
                assert _hash(root) == ROOTS[size - 1], _id(path)
                checked += 1
    assert checked == 15


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_leaf_roots(size: int) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES[:size]]
    assert merkle.hash_tree(hashes) == ROOTS[size - 1]


def test_reference_size8_root_matches_readme() -> None:
    assert base64.b64encode(ROOTS[7]) == b"XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="


def test_empty_root() -> None:
    assert merkle.hash_tree([]) == merkle.empty_root() == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
