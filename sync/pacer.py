"""Sizing batches and deadlines from the throughput the link actually delivers.

A batch should take a few seconds of link time: big enough that round trips
(up to a second on satellite) cost little, small enough that a drop loses
little. Throughput is counted in payload bytes (before gRPC's gzip) per second
of link time; the uplink measures a pipelined batch from the previous batch's
completion, so once batches overlap the estimate is the link's own rate
rather than rate diluted by a round trip per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.batches import MAX_BATCH_BYTES, MIN_BATCH_BYTES

TARGET_SECONDS = 3.0
#: The first batch of a link never measured: about 1.6 s of the design's slowest link
#: (32 kbit/s) once packed (sync.packing, ~10:1), 3 s even under gzip.
START_BYTES = 64 * 1024
MIN_DEADLINE_S = 15.0
MAX_DEADLINE_S = 180.0


@dataclass
class Pacer:
    #: exponentially weighted estimate of delivered payload bytes per second of link time
    throughput: float = 0.0
    weight: float = 0.5
    #: multiplies every deadline: above 1 for links slower than the design's 32 kbit/s; the
    #: weak-link tests lower it so a blackhole is noticed in seconds, by the same rule
    deadline_scale: float = 1.0
    #: the largest batch the operator allows ([link] max_batch_bytes), at most MAX_BATCH_BYTES
    max_batch_bytes: int = MAX_BATCH_BYTES

    def observe(self, nbytes: int, seconds: float) -> None:
        """Fold in one measured call; small ones are all round trip and say nothing of rate."""
        if nbytes < MIN_BATCH_BYTES or seconds <= 0:
            return
        rate = nbytes / seconds
        self.throughput = rate if self.throughput == 0 else (
            self.weight * rate + (1 - self.weight) * self.throughput)

    def batch_bytes(self) -> int:
        if self.throughput == 0:
            return min(START_BYTES, self.max_batch_bytes)
        want = int(self.throughput * TARGET_SECONDS)
        return max(MIN_BATCH_BYTES, min(self.max_batch_bytes, MAX_BATCH_BYTES, want))

    def link_seconds(self, nbytes: int) -> float:
        """Expected time for ``nbytes`` to cross the link; 0 while nothing is measured."""
        return nbytes / self.throughput if self.throughput else 0.0

    def deadline(self, nbytes: int) -> float:
        """Seconds allowed for one call carrying ``nbytes``: generous, never unbounded."""
        rate = self.throughput or 2_000.0
        return self.deadline_scale * max(MIN_DEADLINE_S,
                                         min(MAX_DEADLINE_S, 4 * nbytes / rate + 10))
