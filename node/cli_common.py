"""Pieces every tongban command shares: --home, --json output, the clock, tables."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from datetime import datetime

import click

from node.home import Home
from node.workdays import CHINA_TZ
from pki.errors import InputError

CLOCK_ENV = "TONGBAN_CLOCK"

home_option = click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Node home folder (default: $TONGBAN_HOME, else ./tongban-home).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def resolve_home(home_dir: str | None) -> Home:
    return Home.locate(home_dir)


def wall_ms() -> int:
    """Now in unix ms; $TONGBAN_CLOCK (ISO time) sets it for training drills and demos.

    The hybrid logical clock never goes backwards, so setting it earlier than
    records already written only affects new records' wall-clock part.
    """
    fixed = os.environ.get(CLOCK_ENV)
    if not fixed:
        return int(time.time() * 1000)
    try:
        moment = datetime.fromisoformat(fixed)
    except ValueError as exc:
        raise InputError(f"bad ${CLOCK_ENV} {fixed!r}: want an ISO time like 2026-11-02T09:30") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return int(moment.timestamp() * 1000)


def today():
    return datetime.fromtimestamp(wall_ms() / 1000, CHINA_TZ).date()


def format_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def emit_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str))


def _width(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
