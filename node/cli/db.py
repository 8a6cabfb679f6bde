"""``tongban db``: rebuild the projections, back up the database."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click

from node import maintenance
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command()
@json_option
@home_option
def rebuild(as_json: bool, home_dir: str | None) -> None:
    """Rebuild every projection table from the log (after SQLite's integrity check).

    \b
    Example:
      tongban db rebuild --home /var/lib/tongban
    """
    with ExitStack() as stack:
        bars: list = []

        def progress(done: int, total: int) -> None:
            if not bars:  # only once the integrity check has passed and replay begins
                bars.append(stack.enter_context(click.progressbar(
                    length=max(total, 1), label="rebuilding", file=sys.stderr)))
            bars[0].update(done - bars[0].pos)

        count = maintenance.rebuild(resolve_home(home_dir), progress)
    if as_json:
        emit_json({"records": count})
        return
    echo(f"rebuilt projections from {count} records")


@db_group.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Backup file to write (must not exist).")
@json_option
@home_option
def backup(out: str, as_json: bool, home_dir: str | None) -> None:
    """Write a consistent copy of the node database while the node keeps running.

    Uses SQLite's online backup, so writes during the copy are neither lost
    nor half-copied. To restore, stop the node and put the file back as
    node.db (then `tongban audit verify` it). The copy is mode 0600.

    \b
    Example:
      tongban db backup --out /media/usb/540102-2026-11-21.db
    """
    target = Path(out)
    division, size = maintenance.backup(resolve_home(home_dir), target)
    if as_json:
        emit_json({"division": division, "out": str(target), "live_bytes": size})
        return
    echo(f"backed up {division} to {target} ({size:,} bytes in the live file)")
