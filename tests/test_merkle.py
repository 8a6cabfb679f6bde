"""sync.merkle against the RFC 9162 definitions written out literally (MTH, PATH, PROOF)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pki.errors import InputError, VerificationError
from sync import merkle

MAX = 4200
LEAVES = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(MAX)]


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every perfect aligned subtree hash, level by level: what a log stores."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([merkle.node_hash(below[i], below[i + 1])
                       for i in range(0, len(below) - 1, 2)])
    return levels


LEVELS = _levels(LEAVES)


class Store:
    """Perfect subtrees of the first ``size`` leaves, refusing any node a log would not hold."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0

    def get_node(self, level: int, idx: int) -> bytes:
        assert (idx + 1) << level <= self.size, f"asked for ({level}, {idx}) beyond {self.size}"
        self.reads += 1
        return LEVELS[level][idx]


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*ref_path(m, leaves[:k]), merkle.hash_tree(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), merkle.hash_tree(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if whole else [merkle.hash_tree(leaves)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), merkle.hash_tree(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), merkle.hash_tree(leaves[:k])]


SMALL_ROOTS = [merkle.hash_tree(LEAVES[:n]) for n in range(65)]


@pytest.mark.parametrize("size", range(1, 65))
def test_root_and_inclusion_proofs_match_reference(size: int) -> None:
    store = Store(size)
    root = merkle.root(size, store.get_node)
    assert root == SMALL_ROOTS[size]
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, store.get_node)
        assert proof == ref_path(index, LEAVES[:size])
        merkle.verify_inclusion(index, size, LEAVES[index], proof, root)
        assert merkle.root_from_inclusion_proof(index, size, LEAVES[index], proof) == root


@pytest.mark.parametrize("size2", range(1, 65))
def test_consistency_proofs_match_reference(size2: int) -> None:
    store = Store(size2)
    for size1 in range(1, size2 + 1):
        proof = merkle.consistency_proof(size1, size2, store.get_node)
        assert proof == ref_subproof(size1, LEAVES[:size2], True)
        merkle.verify_consistency(size1, size2, SMALL_ROOTS[size1], SMALL_ROOTS[size2], proof)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_every_flipped_bit_in_an_inclusion_proof_is_rejected(size: int) -> None:
    store = Store(size)
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, store.get_node)
        for i in range(len(proof)):
            for bit in (0, 77, 255):
                bad = list(proof)
                bad[i] = _flip(bad[i], bit)
                with pytest.raises(merkle.ProofError, match="got root"):
                    merkle.verify_inclusion(index, size, LEAVES[index], bad, SMALL_ROOTS[size])


@pytest.mark.parametrize("size2", [2, 3, 7, 8, 13])
def test_every_flipped_bit_in_a_consistency_proof_is_rejected(size2: int) -> None:
    store = Store(size2)
    for size1 in range(1, size2):
        proof = merkle.consistency_proof(size1, size2, store.get_node)
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = _flip(bad[i], 3)
            with pytest.raises(merkle.ProofError, match="root"):
                merkle.verify_consistency(size1, size2, SMALL_ROOTS[size1],
                                          SMALL_ROOTS[size2], bad)


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def test_proof_error_is_a_verification_error() -> None:
    assert issubclass(merkle.ProofError, VerificationError)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: merkle.verify_inclusion(5, 5, LEAVES[0], [], SMALL_ROOTS[5]),
     "got leaf index 5 in a tree of size 5, want 0 <= index < size"),
    (lambda: merkle.verify_inclusion(-1, 5, LEAVES[0], [], SMALL_ROOTS[5]),
     "got leaf index -1"),
    (lambda: merkle.verify_inclusion(0, 5, LEAVES[0][:31], [], SMALL_ROOTS[5]),
     "leaf hash: got 31 bytes, want a 32-byte SHA-256 hash"),
    (lambda: merkle.verify_inclusion(0, 5, LEAVES[0], [LEAVES[1]], SMALL_ROOTS[5]),
     "inclusion proof for leaf 0 of 5: got 1 hashes, want 3"),
    (lambda: merkle.verify_inclusion(0, 2, LEAVES[0], [b"x"], SMALL_ROOTS[2]),
     "entry 0: got 1 bytes, want a 32-byte"),
    (lambda: merkle.verify_inclusion(0, 2, LEAVES[0], [LEAVES[1]], b"short"),
     "root: got 5 bytes"),
    (lambda: merkle.verify_consistency(3, 2, SMALL_ROOTS[3], SMALL_ROOTS[2], []),
     "got sizes 3 -> 2, want 0 < size1 <= size2"),
    (lambda: merkle.verify_consistency(0, 2, merkle.empty_root(), SMALL_ROOTS[2], []),
     "got size1 0"),
    (lambda: merkle.verify_consistency(2, 2, SMALL_ROOTS[2], SMALL_ROOTS[2], [LEAVES[0]]),
     "equal sizes 2: got 1 hashes, want none"),
    (lambda: merkle.verify_consistency(2, 2, SMALL_ROOTS[2], SMALL_ROOTS[3], []),
     "want them equal"),
    (lambda: merkle.verify_consistency(3, 5, SMALL_ROOTS[3], SMALL_ROOTS[5], []),
     "consistency proof 3 -> 5: got 0 hashes, want 4"),
    (lambda: merkle.verify_consistency(3, 5, SMALL_ROOTS[3][:8], SMALL_ROOTS[5], []),
     "root1: got 8 bytes"),
])
def test_verifier_preconditions_say_what_was_wanted(call, message: str) -> None:
    with pytest.raises(merkle.ProofError) as caught:
        call()
    assert message in str(caught.value)


def test_root_proofs_for_wrong_tree_are_rejected() -> None:
    proof = merkle.consistency_proof(3, 6, Store(6).get_node)
    with pytest.raises(merkle.ProofError, match="got old root"):
        merkle.verify_consistency(3, 6, SMALL_ROOTS[4], SMALL_ROOTS[6], proof)
    with pytest.raises(merkle.ProofError, match="got new root"):
        merkle.verify_consistency(3, 6, SMALL_ROOTS[3], SMALL_ROOTS[7], proof)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: merkle.root(-1, Store(0).get_node), "got size -1, want size >= 0"),
    (lambda: merkle.inclusion_proof(4, 4, Store(4).get_node), "got leaf index 4"),
    (lambda: merkle.consistency_proof(0, 4, Store(4).get_node), "got sizes 0 -> 4"),
    (lambda: merkle.consistency_proof(5, 4, Store(4).get_node), "got sizes 5 -> 4"),
])
def test_generation_preconditions_are_input_errors(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()


def test_empty_tree_and_equal_sizes() -> None:
    assert merkle.root(0, Store(0).get_node) == merkle.empty_root()
    assert merkle.consistency_proof(7, 7, Store(7).get_node) == []
    merkle.verify_consistency(7, 7, SMALL_ROOTS[7], SMALL_ROOTS[7], [])


def _log_bound(size: int) -> int:
    """Reads allowed for one root or proof: two per level, plus the one partial subtree."""
    return 3 * max(size.bit_length(), 1)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_sizes_up_to_4200(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    size1 = data.draw(st.integers(1, size), label="size1")
    root = merkle.hash_tree(LEAVES[:size])
    root1 = merkle.hash_tree(LEAVES[:size1])

    store = Store(size)
    assert merkle.root(size, store.get_node) == root
    assert store.reads <= _log_bound(size)

    store = Store(size)
    proof = merkle.inclusion_proof(index, size, store.get_node)
    assert store.reads <= _log_bound(size)
    merkle.verify_inclusion(index, size, LEAVES[index], proof, root)

    store = Store(size)
    proof = merkle.consistency_proof(size1, size, store.get_node)
    assert store.reads <= _log_bound(size)
    merkle.verify_consistency(size1, size, root1, root, proof)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(size1, size, root1, _flip(root, 0), proof)


@settings(max_examples=80, deadline=None)
@given(first=st.integers(0, 600), count=st.integers(0, 600))
def test_compact_range_appends_to_the_reference_root_and_reports_every_subtree(
        first: int, count: int) -> None:
    tree = merkle.CompactRange.of_stored(first, Store(first).get_node)
    assert tree.root() == merkle.hash_tree(LEAVES[:first])
    completed = tree.new_completed()
    tree.append(LEAVES[first:first + count], completed)
    end = first + count
    assert (tree.size, tree.root()) == (end, merkle.hash_tree(LEAVES[:end]))
    for level, hashes in enumerate(completed):
        want = [] if level == 0 or level >= len(LEVELS) else [
            h for idx, h in enumerate(LEVELS[level]) if first < (idx + 1) << level <= end]
        assert hashes == want, f"level {level}"
        assert not want or LEVELS[level][first >> level] == want[0]


def test_compact_range_refuses_a_frontier_of_the_wrong_shape() -> None:
    with pytest.raises(merkle.ProofError, match="want 2 \\(one per set bit"):
        merkle.CompactRange(5, [LEAVES[0]])
    with pytest.raises(merkle.ProofError, match="each of 32 bytes"):
        merkle.CompactRange(1, [b"short"])
