"""Pieces every tongban command shares: --home, --json output, time display, tables.

Every line a command prints goes through ``echo`` (and tables and JSON through
it too), which escapes terminal control and bidi characters: records from other
nodes may hold text this node would have refused (node.text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from node.clock import today, wall_ms
from node.home import Home
from node.text import printable
from node.workdays import CHINA_TZ
from sync.records import show_ms

__all__ = ["echo", "emit_json", "format_ms", "home_option", "json_option", "resolve_home", "table",
           "today", "wall_ms"]

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


def format_ms(ms: int | None) -> str:
    """A stored time in China time; never raises (sync.records.show_ms)."""
    return "-" if ms is None else show_ms(ms, CHINA_TZ)


def echo(text: object = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(printable(str(text)), err=err, nl=nl)


def emit_json(value) -> None:
    echo(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str))


def _width(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else printable(str(c), newlines=False) for c in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
