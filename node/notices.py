"""Notices (通知) from one node to another anywhere in the tree: sending and listing.

A notice to a node outside the sender's own line (a sibling county, another
region) travels up with the sender's log and down as a delivery: the record,
its signed checkpoint and an inclusion proof (sync/deliver.py).
"""

from __future__ import annotations

from node.store import Draft, NodeStore
from pki.division import in_subtree, require_known
from pki.errors import InputError
from protos.tongban.v1 import record_pb2


def send(store: NodeStore, recipient: str, title: str, text: str) -> int:
    """Write the notice into the own log; returns its seq. It goes out with the next sync."""
    require_known(recipient, "recipient")
    if recipient == store.division:
        raise InputError(f"a notice to {recipient} would be addressed to this node itself")
    if not title.strip():
        raise InputError("notice title must not be empty")
    body = record_pb2.PolicyNotice(title=title, text=text).SerializeToString()
    written = store.write([Draft(record_pb2.POLICY_NOTICE, lambda _s, _h: body, recipient)])
    return store.log.size(store.division) - len(written)


def listed(store: NodeStore) -> list[dict]:
    """Notices this node sent or that are addressed into its subtree, oldest first."""
    return [
        {"origin": origin, "seq": seq, "recipient": recipient, "at_ms": at_ms, "title": title,
         "text": text}
        for origin, seq, recipient, at_ms, title, text in store.db.execute(
            "SELECT origin, seq, recipient, at_ms, title, text FROM notices ORDER BY at_ms")
        if origin == store.division or in_subtree(store.division, recipient)
    ]
