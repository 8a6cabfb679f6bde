"""Clock bounds: a wrong wall clock must not leave permanent marks in the log.

Every own record carries its hybrid-logical-clock time, and the HLC never goes
backwards: one write at a clock set to 2100 would make every later case number
540102-2100-…, and one far-future record from a peer would drag every
receiver's clock forward. So:

- own writes refuse a wall clock outside 2000–2200, or a system clock earlier
  than the own log's newest time by more than ``[clock] tolerance_minutes``
  (default 10): the clock was wrong then or is wrong now, and the operator
  must say which (a pinned drill clock may step back);
- received records move the local clock at most ``[clock] ahead_minutes``
  (default 5) past local wall time (sync.records.HybridClock.observe); one
  further ahead is stored anyway (the log is the truth) and noted in
  ``clock_flags`` for ``tongban problems``;
- ``$TONGBAN_CLOCK`` (node.clock) is for drills and tests: a home with a
  parent receipt is a real one, and a pinned clock there is refused for own
  writes unless its tongban.toml says ``[clock] drill = true``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from node.clock import CLOCK_ENV
from node.home import Config
from pki.errors import InputError
from sync.records import show_ms

#: The sane range of a wall clock: before 2000 or from 2200 on, the clock is broken.
EARLIEST_MS = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000)
LATEST_MS = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp() * 1000)
MINUTE_MS = 60_000


class ClockRefused(InputError):
    """An own write refused because the wall clock cannot be right."""


@dataclass(frozen=True)
class ClockBounds:
    tolerance_ms: int = 10 * MINUTE_MS
    ahead_ms: int = 5 * MINUTE_MS
    drill: bool = False


def bounds(config: Config) -> ClockBounds:
    """``[clock]`` in tongban.toml (node.config_schema): tolerance_minutes, ahead_minutes,
    drill."""
    return ClockBounds(tolerance_ms=int(config.clock_tolerance_minutes * MINUTE_MS),
                       ahead_ms=int(config.clock_ahead_minutes * MINUTE_MS),
                       drill=config.clock_drill)


def show(ms: int) -> str:
    """A time for a message, in UTC; never raises, whatever the year (sync.records.show_ms)."""
    return show_ms(ms, UTC, "%Y-%m-%d %H:%M UTC")


def check_wall(now_ms: int, newest_own_ms: int | None, limits: ClockBounds) -> None:
    """Refuse an implausible wall clock for an own write, naming both times."""
    if not EARLIEST_MS <= now_ms < LATEST_MS:
        raise ClockRefused(f"clock refused: the wall clock says {show(now_ms)}, outside "
                           f"{show(EARLIEST_MS)} – {show(LATEST_MS)}; set the system clock "
                           "(or $TONGBAN_CLOCK for a drill) and retry")
    # A pinned drill clock is the operator's explicit word and may step back (the HLC keeps
    # the order); the system clock stepping back is what this catches.
    if (newest_own_ms is not None and not os.environ.get(CLOCK_ENV)
            and now_ms < newest_own_ms - limits.tolerance_ms):
        raise ClockRefused(
            f"clock refused: the wall clock says {show(now_ms)}, but this node's newest record "
            f"is from {show(newest_own_ms)}, more than {limits.tolerance_ms // MINUTE_MS} "
            "minutes later; fix the system clock (or raise [clock] tolerance_minutes)")


def check_drill(has_parent_receipt: bool, limits: ClockBounds) -> None:
    """A pinned clock writes only on a drill home: one without a parent receipt, or marked."""
    if os.environ.get(CLOCK_ENV) and has_parent_receipt and not limits.drill:
        raise ClockRefused(
            f"clock refused: ${CLOCK_ENV} is set, but this home has a parent receipt, so it is "
            "a real node and a pinned clock would leave permanent times in its log; unset "
            f"${CLOCK_ENV} (drill homes: [clock] drill = true in tongban.toml)")


def migrate(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS clock_flags ("
        " origin TEXT NOT NULL, seq INTEGER NOT NULL, hlc INTEGER NOT NULL,"
        " reason TEXT NOT NULL, seen_ms INTEGER NOT NULL, PRIMARY KEY (origin, seq))")


def flag(db: sqlite3.Connection, origin: str, seq: int, hlc_time_ms: int, hlc: int,
         wall_ms: int) -> None:
    """Note a received record dated past local wall time plus the bound; caller holds the txn."""
    db.execute(
        "INSERT OR IGNORE INTO clock_flags (origin, seq, hlc, reason, seen_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        (origin, seq, hlc, f"dated {show(hlc_time_ms)}, ahead of the local clock "
         f"{show(wall_ms)}: stored, not used for this node's clock", wall_ms))


@dataclass(frozen=True)
class ClockFlag:
    origin: str
    seq: int
    hlc: int
    reason: str
    seen_ms: int


def flags(db: sqlite3.Connection) -> list[ClockFlag]:
    """Received records dated in the future, for the problems inbox (node.problems)."""
    return [ClockFlag(*row) for row in db.execute(
        "SELECT origin, seq, hlc, reason, seen_ms FROM clock_flags ORDER BY origin, seq")]
