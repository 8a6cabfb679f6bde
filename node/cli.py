"""The ``tongban`` command.

Errors meant for people (pki.errors.Error) print as one line on stderr and exit
with the error's code (1 refused, 2 could not run); ``--verbose`` adds the
trace. Anything else is a bug and shows its trace.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import traceback
from pathlib import Path

import click

from node.cli_audit import audit_group
from node.cli_bundle import bundle_group
from node.cli_calendar import calendar_group
from node.cli_case import case_group
from node.cli_common import home_option, resolve_home
from node.cli_evaluation import evaluation_group
from node.cli_fed import serve, status_cmd, sync
from node.cli_matter import matter_group
from node.cli_notice import notice_group
from node.cli_pki import pki_group
from node.cli_report import report_cmd
from node.cli_stats import stats_cmd
from node.cli_supervise import supervise_group
from node.db import connect
from node.home import Config
from node.store import NodeStore, migrate
from pki.division import level, validate
from pki.errors import Error, InputError
from pki.keys import generate_key, save_private_key


class TongbanGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Error as exc:
            if ctx.find_root().params.get("verbose"):
                traceback.print_exc()
            click.echo(f"error: {exc.diagnostics()}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=TongbanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Show the full trace on errors.")
@click.version_option(package_name="tongban")
def cli(verbose: bool) -> None:
    """tongban: the node of a federated government-service network (一网通办).

    \b
    Example:
      tongban init --division 540102 --name 城关区
      tongban matter import catalogue.toml
      tongban case list --due-soon
    """


@cli.command()
@click.option("--division", required=True, help="GB/T 2260 division code, e.g. 540102.")
@click.option("--name", required=True, help="Node name, e.g. 城关区.")
@click.option("--parent-address", default="", help="HOST:PORT of the parent node.")
@click.option("--listen", "listen_address", default="127.0.0.1:7443", show_default=True,
              help="HOST:PORT this node serves replication on.")
@home_option
def init(division: str, name: str, parent_address: str, listen_address: str,
         home_dir: str | None) -> None:
    """Create a node home: config, database and node key (mode 0600).

    Refuses to touch an existing home.

    \b
    Example:
      tongban init --division 540102 --name 城关区 --parent-address 10.1.0.5:7443
    """
    validate(division)
    if not name.strip():
        raise InputError("node name must not be empty")
    home = resolve_home(home_dir)
    if home.exists() or home.db_path.exists() or home.key_path.exists():
        raise InputError(f"{home.path} already holds a tongban node; nothing changed")
    home.path.mkdir(parents=True, exist_ok=True)
    save_private_key(generate_key(), home.key_path)
    db = connect(home.db_path, create=True)
    migrate(db)
    db.close()
    home.save_config(Config(division=division, name=name, parent_address=parent_address,
                            listen_address=listen_address))
    click.echo(f"created {level(division)} node {division} {name} in {home.path}")
    click.echo("next: tongban pki csr, then have the parent issue your certificate")


@cli.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command()
@home_option
def rebuild(home_dir: str | None) -> None:
    """Rebuild every projection table from the log.

    \b
    Example:
      tongban db rebuild --home /var/lib/tongban
    """
    store = NodeStore.open(resolve_home(home_dir))
    with click.progressbar(length=1, label="rebuilding", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        count = store.rebuild(progress)
    click.echo(f"rebuilt projections from {count} records")


@db_group.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Backup file to write (must not exist).")
@home_option
def backup(out: str, home_dir: str | None) -> None:
    """Write a consistent copy of the node database while the node keeps running.

    Uses SQLite's online backup, so writes during the copy are neither lost
    nor half-copied. To restore, stop the node and put the file back as
    node.db (then `tongban audit verify` it).

    \b
    Example:
      tongban db backup --out /media/usb/540102-2026-11-21.db
    """
    target = Path(out)
    if target.exists():
        raise InputError(f"{target} already exists; choose a new file name")
    store = NodeStore.open(resolve_home(home_dir))
    copy = sqlite3.connect(target)
    try:
        store.db.backup(copy)
    finally:
        copy.close()
        store.close()
    size = store.home.db_path.stat().st_size
    click.echo(f"backed up {store.division} to {target} ({size:,} bytes in the live file)")


cli.add_command(serve)
cli.add_command(sync)
cli.add_command(status_cmd)
cli.add_command(matter_group)
cli.add_command(notice_group)
cli.add_command(calendar_group)
cli.add_command(case_group)
cli.add_command(pki_group)
cli.add_command(audit_group)
cli.add_command(bundle_group)
cli.add_command(supervise_group)
cli.add_command(stats_cmd)
cli.add_command(evaluation_group)
cli.add_command(report_cmd)


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="tongban")


if __name__ == "__main__":
    main()
