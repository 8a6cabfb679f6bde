"""Pushes of one origin stored in the order of their first sequence numbers.

A child on a slow link pipelines two pushes (sync.uplink); the parent unpacks
each outside the replica lock (bzip2 lets go of the GIL, sync.service). A large
batch then takes longer to inflate than the small one behind it, which would
reach the receiver first, be refused OUT_OF_RANGE and land in the quarantine
table although nothing was wrong. So a push that starts past what is held
waits, before it takes the lock, for the records before it: as long as its
deadline allows while an earlier push of the origin is being handled here,
else for a short grace (its predecessor's call may not have begun yet). A batch
that really skips records (a parent restored from a backup) is then refused as
before, that much later. A waiting push holds a server thread, so at most
``MAX_WAITING`` pushes of one origin wait at once (an honest child pipelines
two); any further one is judged at once, and refused OUT_OF_RANGE if early,
which its sender answers by resending.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: how long a push past what is held waits when no earlier push of its origin is in hand
GRACE_SECONDS = 2.0
#: pushes of one origin that may wait for their predecessors at the same time
MAX_WAITING = 2


class ArrivalOrder:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        #: (origin, first_seq) of every push being handled, one entry per call
        self._handling: list[tuple[str, int]] = []
        #: pushes waiting for their predecessors, per origin
        self._waiting: Counter[str] = Counter()

    @contextmanager
    def handling(self, origin: str, first_seq: int) -> Iterator[None]:
        """Mark a push as being handled from its arrival until its answer."""
        entry = (origin, first_seq)
        with self._changed:
            self._handling.append(entry)
        try:
            yield
        finally:
            with self._changed:
                self._handling.remove(entry)
                self._changed.notify_all()

    def wait_for_predecessors(self, origin: str, first_seq: int, held: Callable[[], int],
                              timeout: float) -> None:
        """Return once ``held()`` (the origin's stored size) reaches ``first_seq``, or when
        waiting longer is pointless (see the module doc); the receiver then judges."""
        started = time.monotonic()
        with self._changed:
            if held() >= first_seq or self._waiting[origin] >= MAX_WAITING:
                return
            self._waiting[origin] += 1
            try:
                while held() < first_seq:
                    earlier = any(o == origin and s < first_seq for o, s in self._handling)
                    left = (timeout if earlier else min(timeout, GRACE_SECONDS)) - (
                        time.monotonic() - started)
                    if left <= 0:
                        return
                    self._changed.wait(left)
            finally:
                self._waiting[origin] -= 1
