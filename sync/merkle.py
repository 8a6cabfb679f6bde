"""RFC 9162 Merkle tree hashing, proof verification and proof generation.

Verification is what an auditor or a parent runs on bytes from a peer, so every
malformed input is refused with a message that says what was expected. Proof
generation works over *stored perfect subtrees* (``get_node``): a log never
holds the hash of a right-edge subtree that is still growing, so such hashes
are assembled from the O(log N) perfect subtrees that tile it. That keeps root
and proof generation at O(log N) reads however large the log grows.

A tree of size n is seen level by level: level 0 holds the leaf hashes, node
``(level, idx)`` covers leaves ``[idx * 2**level, (idx + 1) * 2**level)``, and
the last node of a level is *partial* when n does not fill it. RFC 9162's
split at the largest power of two below n is the same tree with each lone
right-most node carried up unchanged, which is what the proof walks rely on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from pki.errors import InputError, VerificationError

#: RFC 9162 §2.1.1 domain separation: leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ L ‖ R).
#: Defined here only; everything that hashes a tree goes through this module.
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
#: Levels of a tree of up to 2**63 leaves (SQLite's integer range bounds a log's size).
MAX_LEVELS = 63

#: ``get_node(level, idx)``: hash of the perfect aligned subtree covering
#: leaves ``[idx * 2**level, (idx + 1) * 2**level)``; level 0 is the leaf hash.
GetNode = Callable[[int, int], bytes]


class ProofError(VerificationError):
    """An inclusion or consistency proof, or one of its inputs, did not verify."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def leaf_hashes(records: Iterable[bytes]) -> list[bytes]:
    """``leaf_hash`` of each record; one loop without a call per record, for bulk appends."""
    sha256 = hashlib.sha256
    return [sha256(LEAF_PREFIX + data).digest() for data in records]


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def empty_root() -> bytes:
    return hashlib.sha256(b"").digest()


def hash_tree(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 writes it: the reference the fast paths are tested against."""
    n = len(leaf_hashes)
    if n == 0:
        return empty_root()
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(hash_tree(leaf_hashes[:k]), hash_tree(leaf_hashes[k:]))


# --- compact range -----------------------------------------------------------------------------


def _fold(tiles: Sequence[bytes]) -> bytes:
    """RFC 9162 hash of adjacent perfect subtrees given left to right, largest first.

    Each subtree is smaller than all before it, so the tree splits after the
    first one every time: the hash is the right fold of the tiles.
    """
    acc = tiles[-1]
    for h in reversed(tiles[:-1]):
        acc = node_hash(h, acc)
    return acc


def _tiles(start: int, width: int, get_node: GetNode) -> list[bytes]:
    """Stored perfect subtrees tiling leaves [start, start + width), left to right.

    One per set bit of ``width``, largest first; ``start`` must be aligned to
    the largest (it is for a prefix and for the right edge of an aligned node).
    """
    tiles = []
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            tiles.append(get_node(level, start >> level))
            start += 1 << level
    return tiles


class CompactRange:
    """The perfect subtrees that tile leaves [0, size): enough to append and to take the root.

    After transparency-dev/merkle's ``compact.Range`` (for ranges that begin at
    0): ``hashes`` holds one subtree per set bit of ``size``, left to right,
    largest first. Appending a leaf merges equal-sized neighbours, so every
    perfect subtree the tree completes passes through ``append`` exactly once,
    which is how the log store learns which ``tree_nodes`` to write and the
    auditor which to compare. This is the one place the fold is written; the
    loop is inlined because the log's appends and the audit's scan run it once
    per record.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count() or any(
                len(h) != HASH_SIZE for h in hashes):
            raise ProofError(
                f"prefix frontier for size {size}: got {len(hashes)} hashes, want "
                f"{max(size, 0).bit_count()} (one per set bit of the size), "
                f"each of {HASH_SIZE} bytes")
        self.size = size
        self.hashes = list(hashes)

    @staticmethod
    def new_completed() -> list[list[bytes]]:
        """Empty per-level lists for ``append``: one per level a 2**63-leaf tree has."""
        return [[] for _ in range(MAX_LEVELS + 1)]

    @classmethod
    def of_stored(cls, size: int, get_node: GetNode) -> CompactRange:
        """The range of a stored tree's first ``size`` leaves: O(log size) reads."""
        return cls(size, _tiles(0, size, get_node))

    def append(self, leaves: Iterable[bytes], completed: list[list[bytes]] | None = None
               ) -> None:
        """Append leaf hashes; each perfect subtree completed goes to ``completed[level]``.

        ``completed`` holds one list per level (``new_completed()``); level
        ``L`` receives the subtrees of 2**L leaves in index order, the first
        with index ``size >> L`` for the size before the call. Per-level lists
        rather than (level, index) tuples keep the audit's scan, which runs
        this once per record, as fast as a loop written in place.
        """
        sha256 = hashlib.sha256
        stack = self.hashes
        size = self.size
        for h in leaves:
            level = 0
            idx = size
            while idx & 1:
                h = sha256(NODE_PREFIX + stack.pop() + h).digest()
                level += 1
                idx >>= 1
                if completed is not None:
                    completed[level].append(h)
            stack.append(h)
            size += 1
        self.size = size

    def root(self) -> bytes:
        return _fold(self.hashes) if self.hashes else empty_root()


# --- verification -------------------------------------------------------------------------------


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what}: got {len(value)} bytes, want a {HASH_SIZE}-byte SHA-256 hash")


def _check_proof(what: str, proof: Sequence[bytes], want: int) -> None:
    if len(proof) != want:
        raise ProofError(f"{what}: got {len(proof)} hashes, want {want}")
    for i, h in enumerate(proof):
        _check_hash(f"{what} entry {i}", h)


def _inclusion_shape(index: int, size: int) -> tuple[int, int]:
    """Split an inclusion path into (inner, border) lengths.

    ``inner`` levels lie below the point where the paths to ``index`` and to the
    last leaf meet, and take a sibling on either side; above it the path runs
    along the right border, where only left siblings exist (one per set bit).
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = node_hash(h, seed) if (index >> i) & 1 else node_hash(seed, h)
    return seed


def _chain_inner_left(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like _chain_inner, but keeps only left siblings: the same subtree as it was earlier."""
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion_proof(index: int, size: int, leaf_hash: bytes,
                              proof: Sequence[bytes]) -> bytes:
    """The root a tree of ``size`` must have if ``proof`` places ``leaf_hash`` at ``index``."""
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: got leaf index {index} in a tree of size {size}, "
                         "want 0 <= index < size")
    _check_hash("inclusion proof leaf hash", leaf_hash)
    inner, border = _inclusion_shape(index, size)
    _check_proof(f"inclusion proof for leaf {index} of {size}", proof, inner + border)
    return _chain_border(_chain_inner(leaf_hash, proof[:inner], index), proof[inner:])


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    got = root_from_inclusion_proof(index, size, leaf_hash, proof)
    _check_hash("inclusion proof root", root)
    if got != root:
        raise ProofError(f"inclusion proof for leaf {index} of {size}: got root {got.hex()}, "
                         f"want {root.hex()}")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that the tree of ``size2`` with ``root2`` extends the one of ``size1`` with ``root1``.

    A proof from the empty tree is refused rather than waved through: it proves
    nothing, and a caller that reaches here with size1 = 0 has a logic error
    (the conformance vectors require the refusal). Equal sizes need no proof
    and no hashing, only equal roots.
    """
    if not 0 <= size1 <= size2:
        raise ProofError(f"consistency proof: got sizes {size1} -> {size2}, "
                         "want 0 < size1 <= size2")
    if size1 == 0:
        raise ProofError(f"consistency proof: got size1 0 (-> {size2}), want size1 > 0: "
                         "a proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError(f"consistency proof between equal sizes {size1}: "
                             f"got {len(proof)} hashes, want none")
        if root1 != root2:
            raise ProofError(f"consistency proof between equal sizes {size1}: "
                             f"got roots {root1.hex()} and {root2.hex()}, "
                             "want them equal")
        return
    _check_hash("consistency proof root1", root1)
    _check_hash("consistency proof root2", root2)
    what = f"consistency proof {size1} -> {size2}"

    # The proof starts at the largest perfect subtree that ends at size1 (level
    # ``shift``); when that subtree is the whole old tree, root1 is its hash.
    inner, border = _inclusion_shape(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    seeded_by_root1 = size1 == 1 << shift
    _check_proof(what, proof, inner + border + (0 if seeded_by_root1 else 1))
    if seeded_by_root1:
        seed, path = root1, proof
    else:
        seed, path = proof[0], proof[1:]
    mask = (size1 - 1) >> shift

    got1 = _chain_border(_chain_inner_left(seed, path[:inner], mask), path[inner:])
    if got1 != root1:
        raise ProofError(f"{what}: got old root {got1.hex()}, want {root1.hex()}")
    got2 = _chain_border(_chain_inner(seed, path[:inner], mask), path[inner:])
    if got2 != root2:
        raise ProofError(f"{what}: got new root {got2.hex()}, want {root2.hex()}")


# --- generation over stored perfect subtrees ----------------------------------------------------


def _subtree(level: int, idx: int, size: int, get_node: GetNode) -> bytes:
    """Hash of node (level, idx) in a tree of ``size``, which may be the partial right edge.

    A partial node covering ``[start, size)`` is tiled left to right by one
    perfect subtree per set bit of ``size - start``, largest first, and RFC 9162
    hashes it as their right fold.
    """
    start = idx << level
    width = min(size - start, 1 << level)
    if width == 1 << level:
        return get_node(level, idx)
    return _fold(_tiles(start, width, get_node))


def _path(level: int, idx: int, size: int, get_node: GetNode) -> list[bytes]:
    """Sibling hashes from node (level, idx) up to the root of a tree of ``size``.

    At most one sibling is partial (the first right sibling that reaches the
    edge; everything above it is on the border), so this costs O(log N) reads.
    """
    proof = []
    last = (size - 1) >> level
    while last > 0:
        sibling = idx ^ 1
        if sibling < idx:
            proof.append(get_node(level, sibling))
        elif sibling <= last:
            proof.append(_subtree(level, sibling, size, get_node))
        idx >>= 1
        last >>= 1
        level += 1
    return proof


def root(size: int, get_node: GetNode) -> bytes:
    if size < 0:
        raise InputError(f"tree root: got size {size}, want size >= 0")
    if size == 0:
        return empty_root()
    return _subtree((size - 1).bit_length(), 0, size, get_node)


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    if not 0 <= index < size:
        raise InputError(f"inclusion proof: got leaf index {index} in a tree of size {size}, "
                         "want 0 <= index < size")
    return _path(0, index, size, get_node)


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """RFC 9162 consistency proof from size1 to size2, as verify_consistency expects it.

    It is the path from the largest perfect subtree ending at size1 up to the
    root of size2, preceded by that subtree's hash unless it is the whole old
    tree (the verifier then seeds with root1).
    """
    if not 0 < size1 <= size2:
        raise InputError(f"consistency proof: got sizes {size1} -> {size2}, "
                         "want 0 < size1 <= size2")
    if size1 == size2:
        return []
    shift = (size1 & -size1).bit_length() - 1
    idx = (size1 - 1) >> shift
    head = [] if idx == 0 else [get_node(shift, idx)]
    return head + _path(shift, idx, size2, get_node)
