"""The node's idea of now.

$TONGBAN_CLOCK (an ISO time, China time if no zone) pins it for training drills
and demos. The hybrid logical clock never goes backwards, so pinning it earlier
than records already written only affects new records' wall-clock part.
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime

from node.workdays import CHINA_TZ
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
    return datetime.fromtimestamp(wall_ms() / 1000, CHINA_TZ).date()
