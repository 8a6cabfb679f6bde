"""``tongban db``: rebuild the projections, back up and restore the database."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click

from node import log_guard, maintenance
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home
from node.restore import restore_and_recover
from pki.errors import InputError


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


def _passphrase(path: str | None, confirm: bool) -> bytes:
    if path:
        return Path(path).read_bytes().rstrip(b"\r\n")
    return click.prompt("passphrase for the key", hide_input=True,
                        confirmation_prompt=confirm, err=True).encode()


@db_group.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Backup file to write (must not exist).")
@click.option("--full", is_flag=True,
              help="A home backup (tar.gz): config, certificates and the database.")
@click.option("--with-key", is_flag=True,
              help="With --full: add the private key, encrypted with a passphrase.")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Read the key's passphrase from this file (else you are asked).")
@json_option
@home_option
def backup(out: str, full: bool, with_key: bool, passphrase_file: str | None,
           as_json: bool, home_dir: str | None) -> None:
    """Write a consistent copy of the node database while the node keeps running.

    Uses SQLite's online backup into a temporary file that is fsynced and
    renamed, so the target is the whole copy or absent, never partial; mode
    0600 (it holds resident IDs). --full adds config and certificates (and
    with --with-key the key, encrypted). Put it back with `tongban db restore`.

    \b
    Example:
      tongban db backup --out /media/usb/540102-2026-11-21.db
      tongban db backup --full --out /media/usb/540102-home.tar.gz
    """
    target = Path(out)
    home = resolve_home(home_dir)
    if with_key and not full:
        raise InputError("--with-key needs --full: a database backup never carries the key")
    if full:
        passphrase = _passphrase(passphrase_file, confirm=True) if with_key else None
        division, size = maintenance.backup_home(home, target, passphrase)
        if as_json:
            emit_json({"division": division, "out": str(target), "bytes": size,
                       "full": True, "with_key": with_key})
            return
        key = "with the key, encrypted" if with_key else "without the key"
        echo(f"backed up home of {division} to {target} ({size:,} bytes, {key})")
        return
    division, size = maintenance.backup(home, target)
    if as_json:
        emit_json({"division": division, "out": str(target), "live_bytes": size})
        return
    echo(f"backed up {division} to {target} ({size:,} bytes in the live file)")


@db_group.command()
@click.argument("backup_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--passphrase-file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Passphrase of the key in a home backup made with --with-key.")
@home_option
def restore(backup_file: str, passphrase_file: str | None, home_dir: str | None) -> None:
    """Put a backup back as node.db, then fetch anything newer from the parent.

    Checks integrity, the log tables, that the version is not newer and that
    this home's certificate signed the backup; own writes stay refused until
    the parent has been asked (here, or later with `tongban recover` or the
    parent's reply bundle). The national node has no parent: it asks a child
    afterwards, with `tongban recover --from-child`. Stop `tongban serve` first.

    \b
    Example:
      tongban db restore /media/usb/540102-2026-11-21.db
    """
    path = Path(backup_file)
    passphrase = _passphrase(passphrase_file, confirm=False) if passphrase_file else None
    home = resolve_home(home_dir)
    done = restore_and_recover(home, path, passphrase, _stderr)
    echo(f"restored {done.restored.division} from {path}: "
               f"{done.restored.own_size} records of its own log")
    recovered = done.recovered
    if recovered is None:
        raise InputError(f"restored, but writes stay refused until the log is fetched back "
                         f"({done.not_recovered}): "
                         f"{log_guard.recovery_hint(home, done.restored.division)}")
    echo(f"recovered {sum(recovered.fetched.values())} records from {recovered.server}; "
               f"this node holds {recovered.own_size} records of its own log")
    if recovered.still_refused:
        raise InputError(f"writes still refused: {recovered.still_refused}")
    echo(f"writes resume at seq {recovered.own_size}")


def _stderr(line: str) -> None:
    echo(line, err=True)
