"""Prefix frontiers: checking a batch against its checkpoint without the records before it.

A bundle batch of records [first_seq, end) carries the perfect-subtree hashes
that tile [0, first_seq) (largest first, one per set bit of first_seq): the
merkle.CompactRange of the prefix, made by ``CompactRange.of_stored``. From
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
    tree = merkle.CompactRange(first_seq, frontier)
    tree.append(merkle.leaf_hashes(records))
    root = tree.root()
    if end == checkpoint.size:
        if root != checkpoint.root:
            raise VerificationError(
                f"batch {checkpoint.origin}@{first_seq}: got root {root.hex()} at size {end}, "
                f"want the checkpoint's {checkpoint.root.hex()}")
        return root
    merkle.verify_consistency(end, checkpoint.size, root, checkpoint.root,
                              list(consistency_proof))
    return root
