"""Link profiles for the weak-link emulator, and the human units they are written in.

The profiles are the links tongban is built for (see DESIGN.md: 32–256 kbit/s,
600–1000 ms round trips, drops every minute, outages for hours), named so that
tests, the federation demo and an operator at a shell all mean the same link
when they say "satellite".
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from pki.errors import InputError

OUTAGE_MODES = ("refuse", "blackhole")


class Outage(NamedTuple):
    """One scheduled outage window, counted from the moment the link starts.

    ``refuse``: new connections are reset at once and open ones are cut, like a
    router that answers with "unreachable". ``blackhole``: connections are
    accepted and kept but nothing passes, like a dead radio; the endpoints only
    notice through their own deadlines and keepalives, and every connection is
    cut when the window ends.
    """

    start_after_s: float
    duration_s: float
    mode: str


@dataclass(frozen=True)
class Profile:
    """What a link does to the bytes crossing it.

    Bandwidths are bits per second per direction ("up" is client to target);
    0 means unlimited, so ``perfect`` needs no special case in the emulator.
    ``mean_seconds_between_drops`` is the mean of an exponential distribution
    (drops are memoryless, like the links they model); 0 means never.
    """

    name: str
    bandwidth_bps_up: int
    bandwidth_bps_down: int
    one_way_latency_s: float
    jitter_s: float
    mean_seconds_between_drops: float
    outage: Outage | None = None

    def __post_init__(self) -> None:
        for field in ("bandwidth_bps_up", "bandwidth_bps_down"):
            value = getattr(self, field)
            if value < 0:
                raise InputError(f"link profile {self.name}: {field} got {value}, want >= 0")
        for field in ("one_way_latency_s", "jitter_s", "mean_seconds_between_drops"):
            value = getattr(self, field)
            if not (value >= 0 and math.isfinite(value)):
                raise InputError(
                    f"link profile {self.name}: {field} got {value}, want a finite number >= 0"
                )
        if self.outage is not None:
            # Accept a plain tuple, which is how callers naturally write a window.
            outage = Outage(*self.outage)
            if outage.mode not in OUTAGE_MODES:
                raise InputError(
                    f"link profile {self.name}: outage mode got {outage.mode!r}, "
                    f"want one of {', '.join(OUTAGE_MODES)}"
                )
            if outage.start_after_s < 0 or outage.duration_s < 0:
                raise InputError(
                    f"link profile {self.name}: outage window got "
                    f"({outage.start_after_s}, {outage.duration_s}), want non-negative seconds"
                )
            object.__setattr__(self, "outage", outage)

    def describe(self) -> str:
        """One line for status output, in the units people use for links."""
        def rate(bps: int) -> str:
            return "unlimited" if bps == 0 else f"{bps / 1000:g} kbit/s"

        parts = [
            f"{self.name}: up {rate(self.bandwidth_bps_up)}, down {rate(self.bandwidth_bps_down)}",
            f"rtt {2 * self.one_way_latency_s * 1000:g} ms ± {self.jitter_s * 1000:g} ms",
            "no drops"
            if self.mean_seconds_between_drops == 0
            else f"drop every ~{self.mean_seconds_between_drops:g} s",
        ]
        if self.outage is not None:
            parts.append(
                f"{self.outage.mode} outage after {self.outage.start_after_s:g} s "
                f"for {self.outage.duration_s:g} s"
            )
        return ", ".join(parts)


_SATELLITE = Profile(
    name="satellite",
    bandwidth_bps_up=128_000,
    bandwidth_bps_down=128_000,
    one_way_latency_s=0.350,
    jitter_s=0.020,
    mean_seconds_between_drops=60.0,
)

PROFILES: dict[str, Profile] = {
    "perfect": Profile("perfect", 0, 0, 0.0, 0.0, 0.0),
    "microwave": Profile("microwave", 256_000, 256_000, 0.300, 0.010, 300.0),
    "satellite": _SATELLITE,
    "poor": Profile("poor", 32_000, 32_000, 0.500, 0.050, 20.0),
    "outage": dataclasses.replace(
        _SATELLITE, name="outage", outage=Outage(10.0, 60.0, "blackhole")
    ),
}


def profile_by_name(name: str, **overrides: Any) -> Profile:
    """A named profile, with any field replaced (e.g. ``mean_seconds_between_drops=0``)."""
    try:
        base = PROFILES[name]
    except KeyError:
        raise InputError(
            f"unknown link profile {name!r}: want one of {', '.join(PROFILES)}"
        ) from None
    fields = {f.name for f in dataclasses.fields(Profile)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise InputError(
            f"unknown link profile field {', '.join(unknown)}: "
            f"want one of {', '.join(sorted(fields))}"
        )
    return dataclasses.replace(base, **overrides)


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)(?:bit/s|bps|b)?\s*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_RATE_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(text: str) -> int:
    """Bits per second from "64k", "2M", "128kbit/s" or "32000" (decimal SI, as links are sold)."""
    match = _RATE.match(text)
    if match is None:
        raise InputError(f"bandwidth got {text!r}, want e.g. 64k, 2M or 32000 (bits per second)")
    number, unit = match.groups()
    return round(float(number) * _RATE_UNITS[unit.lower()])


def parse_duration(text: str) -> float:
    """Seconds from "800ms", "30s", "2m", "1h" or a bare number of seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise InputError(f"duration got {text!r}, want e.g. 800ms, 30s, 2m, 1h or 1.5")
    number, unit = match.groups()
    return float(number) * _DURATION_UNITS[unit or "s"]
