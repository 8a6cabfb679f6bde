"""Prefix frontiers on a real LogStore: roots without the prefix, forgeries refused."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pki.checkpoint import Checkpoint
from pki.errors import VerificationError
from sync import merkle
from sync.frontier import verify_standalone
from sync.log import LogError, LogStore

ORIGIN = "540102"
DATA = [f"record {i}".encode() * (1 + i % 3) for i in range(300)]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    db = sqlite3.connect(tmp_path_factory.mktemp("frontier") / "log.db", isolation_level=None)
    LogStore.migrate(db)
    store = LogStore(db)
    store.append(ORIGIN, 0, DATA)
    return store


def frontier_of(log: LogStore, size: int) -> list[bytes]:
    return merkle.CompactRange.of_stored(size, lambda lvl, idx: log.tree_node(ORIGIN, lvl, idx)
                                         ).hashes


def test_tree_node_reads_stored_subtrees_and_refuses_what_is_not_held(log):
    assert log.tree_node(ORIGIN, 0, 5) == merkle.leaf_hash(DATA[5])
    assert log.tree_node(ORIGIN, 2, 1) == merkle.hash_tree(
        [merkle.leaf_hash(d) for d in DATA[4:8]])
    with pytest.raises(LogError, match="want <= 300"):
        log.tree_node(ORIGIN, 3, 37)  # leaves [296, 304): past the stored size
    with pytest.raises(LogError, match="want both >= 0"):
        log.tree_node(ORIGIN, -1, 0)


@settings(max_examples=60, deadline=None)
@given(first=st.integers(0, 299), count=st.integers(1, 40), extra=st.integers(0, 60))
def test_frontier_and_batch_reach_the_checkpoint_root(log, first, count, extra):
    end = min(first + count, 300)
    size = min(end + extra, 300)
    frontier = frontier_of(log, first)
    assert len(frontier) == first.bit_count()
    tree = merkle.CompactRange(first, frontier)
    assert tree.root() == log.root(ORIGIN, first)
    tree.append(merkle.leaf_hashes(DATA[first:end]))
    assert tree.root() == log.root(ORIGIN, end)
    checkpoint = Checkpoint(f"tongban/{ORIGIN}", size, log.root(ORIGIN, size))
    proof = log.consistency_proof(ORIGIN, end, size) if end < size else []
    assert verify_standalone(first, frontier, DATA[first:end], proof, checkpoint) == log.root(
        ORIGIN, end)


def test_forged_frontier_or_records_do_not_verify(log):
    first, end, size = 100, 140, 200
    frontier = frontier_of(log, first)
    checkpoint = Checkpoint(f"tongban/{ORIGIN}", size, log.root(ORIGIN, size))
    proof = log.consistency_proof(ORIGIN, end, size)
    forged = [frontier[0], bytes(32), *frontier[2:]]
    with pytest.raises(VerificationError):
        verify_standalone(first, forged, DATA[first:end], proof, checkpoint)
    changed = [*DATA[first:end - 1], b"changed"]
    with pytest.raises(VerificationError):
        verify_standalone(first, frontier, changed, proof, checkpoint)
    with pytest.raises(VerificationError, match="want 3 \\(one per set bit"):
        verify_standalone(first, frontier[:-1], DATA[first:end], proof, checkpoint)
    whole = Checkpoint(f"tongban/{ORIGIN}", end, log.root(ORIGIN, end))
    with pytest.raises(VerificationError, match="want the checkpoint's"):
        verify_standalone(first, frontier, changed, [], whole)
    with pytest.raises(VerificationError, match="past the checkpoint size"):
        verify_standalone(first, frontier, DATA[first:end], [],
                          Checkpoint(f"tongban/{ORIGIN}", end - 1, log.root(ORIGIN, end - 1)))
