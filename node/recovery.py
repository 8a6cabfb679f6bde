"""``tongban recover``: fetch back the log this node's key signed, then resume writing.

After a lost disk, an empty node.db or a restored backup (node.log_guard), the
node pulls its own log and the subtree logs it held back from the parent
(sync.uplink ``recover_only``: every batch checked by the one Receiver against
the origin's signed checkpoint and the records still held), then resumes at
the true size, so no sequence number and no case number is used twice. When
the parent is gone too, point parent_address at the nearest ancestor that holds
the log and name it with ``--ancestor``. A node with no parent to ask (the
national node) fetches its own log back from a child instead (``--from-child
540000 --address HOST:PORT``): every child holds its parent's log as an
ancestor log, and the batches are checked the same way. By file, the parent's
reply bundle carries the same batches (node.bundle_files); there is no bundle
path from a child.
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
    #: (from, to): own records this key signed that no ancestor held, given up for lost
    lost: tuple[int, int] | None = None
    #: still refused only because this key signed more than any ancestor sent back
    loss_possible: bool = False

    def to_dict(self) -> dict:
        return {"server": self.server, "fetched": self.fetched, "own_size": self.own_size,
                "server_size": self.server_size, "writable": not self.still_refused,
                "still_refused": self.still_refused,
                "lost": list(self.lost) if self.lost else None}


def recover(home: Home, ancestor: str | None = None,
            progress: Callable[[str], None] | None = None, *,
            accept_loss: bool = False, from_child: tuple[str, str] | None = None) -> Recovered:
    """Recover over the network from parent_address (the parent, or ``ancestor``), or
    from ``from_child``, (division, address) of a child's ``tongban serve``.

    When the server held less of the own log than this key signed (records
    signed here and lost before any exchange), writes stay refused: resuming
    would reissue those sequence and case numbers. ``accept_loss`` is the
    operator's word that they are gone for good (log_guard.accept_loss).
    """
    store = NodeStore.open(home)
    try:
        replica = build(store)
        if from_child is not None:
            uplink = link.child_uplink(store, replica, *from_child, progress=progress)
        else:
            uplink = link.make_uplink(store, replica, progress, server_division=ancestor)
        report = uplink.recover_only(from_child=from_child is not None)
        link.confirm_sizes(store, replica, report.parent_sizes)
        done = outcome(store, report.parent, report.recovered, report.parent_sizes)
        signed = log_guard.marked_size(home) or 0
        done.loss_possible = bool(done.still_refused) and signed > done.own_size \
            and not log_guard.held(store.db, store.division)
        if accept_loss and done.loss_possible:
            done.loss_possible = False
            log_guard.accept_loss(home, store.division, done.own_size)
            done.lost = (done.own_size, signed)
            done.still_refused = log_guard.why_refused(home, store.db, store.division) or ""
        return done
    finally:
        store.close()


def outcome(store: NodeStore, server: str, fetched: dict[str, int],
            server_sizes: dict[str, int]) -> Recovered:
    division = store.division
    return Recovered(server, fetched, store.log.size(division), server_sizes.get(division, 0),
                     log_guard.why_refused(store.home, store.db, division) or "")
