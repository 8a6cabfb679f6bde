"""Prefix frontiers: checking a batch against its checkpoint without the records before it.

A bundle batch of records [first_seq, end) carries the perfect-subtree hashes
that tile [0, first_seq) (largest first, one per set bit of first_seq). From
them and the batch's own leaves a reader rebuilds the root at ``end`` and checks
it against the origin's signed checkpoint, through the consistency proof the
batch carries. An auditor holding only a bundle can therefore verify it, and a
forged frontier cannot pass: it would change the root the signature covers.
"""

from __future__ import annotations

from collections.abc import Sequence

from pki.checkpoint import Checkpoint
from pki.errors import VerificationError
from sync import merkle


def prefix_frontier(size: int, get_node: merkle.GetNode) -> list[bytes]:
    """The perfect subtrees tiling leaves [0, size), left to right: O(log size) reads."""
    out: list[bytes] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append(get_node(level, start >> level))
            start += 1 << level
    return out


def extend(frontier: Sequence[bytes], size: int, records: Sequence[bytes]) -> list[bytes]:
    """The frontier after appending ``records`` to a tree of ``size`` with this frontier."""
    if len(frontier) != size.bit_count():
        raise VerificationError(f"prefix frontier for size {size}: got {len(frontier)} hashes, "
                                f"want {size.bit_count()} (one per set bit of the size)")
    for i, h in enumerate(frontier):
        if len(h) != merkle.HASH_SIZE:
            raise VerificationError(f"prefix frontier entry {i}: got {len(h)} bytes, "
                                    f"want {merkle.HASH_SIZE}")
    stack = list(frontier)
    for data in records:
        h = merkle.leaf_hash(data)
        position = size
        while position & 1:
            h = merkle.node_hash(stack.pop(), h)
            position >>= 1
        stack.append(h)
        size += 1
    return stack


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """RFC 9162 root of the tree a frontier tiles: the right fold of its subtrees."""
    if not frontier:
        return merkle.empty_root()
    acc = frontier[-1]
    for h in reversed(frontier[:-1]):
        acc = merkle.node_hash(h, acc)
    return acc


def verify_standalone(first_seq: int, frontier: Sequence[bytes], records: Sequence[bytes],
                      consistency_proof: Sequence[bytes], checkpoint: Checkpoint) -> bytes:
    """The root at the batch end, if frontier + records + proof reach the checkpoint's root.

    The checkpoint's signature is the caller's business (sync.trust); this
    only ties the batch's bytes to the root that signature covers.
    """
    end = first_seq + len(records)
    if end > checkpoint.size:
        raise VerificationError(f"batch {checkpoint.origin}@{first_seq}: records end at {end}, "
                                f"past the checkpoint size {checkpoint.size}")
    root = frontier_root(extend(frontier, first_seq, records))
    if end == checkpoint.size:
        if root != checkpoint.root:
            raise VerificationError(
                f"batch {checkpoint.origin}@{first_seq}: got root {root.hex()} at size {end}, "
                f"want the checkpoint's {checkpoint.root.hex()}")
        return root
    merkle.verify_consistency(end, checkpoint.size, root, checkpoint.root,
                              list(consistency_proof))
    return root
