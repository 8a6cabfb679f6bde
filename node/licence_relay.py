"""When the national node runs the licence status relay by itself (inside ``tongban serve``).

A revocation written at a county must reach every node without an operator
at the national node remembering to type ``licence relay``. ``serve`` at
000000 therefore relays three times: once at start (whatever arrived while it
was down), after every child push that brought a seal, a seal or certificate
revocation, or a licence revocation (under the replica lock, before the
push is answered; children pull the relay record at their next exchange), and on
a timer every ``interval_seconds`` for records that came another way (a
bundle imported by hand). Each check looks only at the records new since the
last one, so a push of case events costs one indexed lookup per table.
"""

from __future__ import annotations

import logging
import threading

from node.licences import RelayResult, relay
from node.store import NodeStore
from pki.division import NATIONAL
from pki.errors import Error

log = logging.getLogger("tongban.licence_relay")

#: projection tables whose rows (origin, seq) are what the relay carries downward
_NEWS_TABLES = ("seals", "licence_revocations", "revocations")


def brought_news(store: NodeStore, origin: str, from_seq: int) -> bool:
    """Did records ``origin``#``from_seq``… add a seal or a revocation?"""
    return any(store.db.execute(f"SELECT 1 FROM {table} WHERE origin = ? AND seq >= ? LIMIT 1",
                                (origin, from_seq)).fetchone()
               for table in _NEWS_TABLES)


class RelayWatch:
    """The relay of one serving national node; every method runs under ``lock``."""

    def __init__(self, store: NodeStore, lock: threading.RLock) -> None:
        self.store = store
        self.lock = lock
        self._sizes: dict[str, int] = {}

    @staticmethod
    def wanted(store: NodeStore) -> bool:
        return store.division == NATIONAL

    def start(self) -> RelayResult | None:
        with self.lock:
            self._sizes = self.store.log.sizes()
            return self._relay("start")

    def after_push(self, origin: str, stored_size: int, new_records: int) -> RelayResult | None:
        with self.lock:
            self._sizes[origin] = stored_size
            if not brought_news(self.store, origin, stored_size - new_records):
                return None
            return self._relay(f"push of {origin}")

    def sweep(self) -> RelayResult | None:
        """The timer: relay when any log grew by a seal or a revocation since the last look."""
        with self.lock:
            sizes = self.store.log.sizes()
            grown = [(origin, self._sizes.get(origin, 0)) for origin, size in sizes.items()
                     if size > self._sizes.get(origin, 0)]
            self._sizes = sizes
            if not any(brought_news(self.store, origin, start) for origin, start in grown):
                return None
            return self._relay("timer")

    def _relay(self, why: str) -> RelayResult | None:
        try:
            result = relay(self.store)
        except Error as exc:
            log.error("licence relay (%s) failed: %s", why, exc.diagnostics())
            return None
        if result.records:
            log.info("licence relay (%s): %d revocations and %d certificates in %d records",
                     why, result.revocations, result.certificates, result.records)
            self._sizes = self.store.log.sizes()
        return result
