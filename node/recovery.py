"""``tongban recover``: fetch back the log this node's key signed, then resume writing.

After a lost disk, an empty node.db or a restored backup (node.log_guard), the
node pulls its own log and the subtree logs it held back from the parent
(sync.uplink ``recover_only``: every batch checked by the one Receiver against
the origin's signed checkpoint and the records still held), then resumes at
the true size, so no sequence number and no case number is used twice. When
the parent is gone too, point parent_address at the nearest ancestor that holds
the log and name it with ``--ancestor``. By file, the parent's reply bundle
carries the same batches (node.bundle_files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from node import link, log_guard
from node.home import Home
from node.store import NodeStore
from node.wiring import build


@dataclass
class Recovered:
    server: str
    fetched: dict[str, int] = field(default_factory=dict)
    own_size: int = 0
    server_size: int = 0
    #: why own writes are still refused, or "" when they resume
    still_refused: str = ""

    def to_dict(self) -> dict:
        return {"server": self.server, "fetched": self.fetched, "own_size": self.own_size,
                "server_size": self.server_size, "writable": not self.still_refused,
                "still_refused": self.still_refused}


def recover(home: Home, ancestor: str | None = None,
            progress: Callable[[str], None] | None = None) -> Recovered:
    """Recover over the network from parent_address (the parent, or ``ancestor``)."""
    store = NodeStore.open(home)
    try:
        replica = build(store)
        uplink = link.make_uplink(store, replica, progress, server_division=ancestor)
        report = uplink.recover_only()
        link.confirm_sizes(store, replica, report.parent_sizes)
        return outcome(store, report.parent, report.recovered, report.parent_sizes)
    finally:
        store.close()


def outcome(store: NodeStore, server: str, fetched: dict[str, int],
            server_sizes: dict[str, int]) -> Recovered:
    division = store.division
    return Recovered(server, fetched, store.log.size(division), server_sizes.get(division, 0),
                     log_guard.why_refused(store.home, store.db, division) or "")
