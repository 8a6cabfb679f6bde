"""The node's idea of now: the one clock every command reads.

$TONGBAN_CLOCK (an ISO time, China time if no zone) pins it for training drills
and demos. The hybrid logical clock never goes backwards, so pinning it earlier
than records already written only affects new records' wall-clock part.

Everything a command writes or judges by time reads this clock: record times,
deadlines, certificate validity when issuing and importing, and the "now" an
audit judges unconfirmed checkpoints at. There used to be a second "now" (the
audit commands read the system clock directly); with two clocks a drill pinned
to a date issues certificates that its own audit then judges at another time.
One clock means a pinned drill agrees with itself; unpinned, both are the
system clock as before.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime

from node.workdays import CHINA_TZ, date_of_ms
from pki.errors import InputError

CLOCK_ENV = "TONGBAN_CLOCK"


def wall_ms() -> int:
    fixed = os.environ.get(CLOCK_ENV)
    if not fixed:
        return int(time.time() * 1000)
    try:
        moment = datetime.fromisoformat(fixed)
    except ValueError as exc:
        raise InputError(f"bad ${CLOCK_ENV} {fixed!r}: want an ISO time like 2026-11-02T09:30"
                         ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return int(moment.timestamp() * 1000)


def today() -> date:
    """Today in China; a drill clock past the calendar's ends clamps to them (date_of_ms)."""
    return date_of_ms(wall_ms())


def now() -> datetime:
    """``wall_ms`` as an aware UTC datetime, for certificates and signatures."""
    return datetime.fromtimestamp(wall_ms() / 1000, UTC)
