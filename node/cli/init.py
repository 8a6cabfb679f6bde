"""``tongban init``: create a node home, and say what to do next."""

from __future__ import annotations

import click

from node.cli.common import echo, emit_json, home_option, json_option, resolve_home
from node.home import Config
from node.maintenance import create_home
from pki.division import NATIONAL, level


def next_step(division: str) -> str:
    """The national node makes the root itself; every other node asks its parent."""
    if division == NATIONAL:
        return "next: tongban pki init-root, to make the national root from this node's key"
    return "next: tongban pki csr, then have the parent issue your certificate"


@click.command()
@click.option("--division", required=True, help="GB/T 2260 division code, e.g. 540102.")
@click.option("--name", required=True, help="Node name, e.g. 城关区.")
@click.option("--parent-address", default="", help="HOST:PORT of the parent node.")
@click.option("--listen", "listen_address", default="127.0.0.1:7443", show_default=True,
              help="HOST:PORT this node serves replication on.")
@json_option
@home_option
def init(division: str, name: str, parent_address: str, listen_address: str, as_json: bool,
         home_dir: str | None) -> None:
    """Create a node home: config, database and node key (mode 0600).

    Refuses to touch an existing home.

    \b
    Example:
      tongban init --division 540102 --name 城关区 --parent-address 10.1.0.5:7443
    """
    home = resolve_home(home_dir)
    create_home(home, Config(division=division, name=name, parent_address=parent_address,
                             listen_address=listen_address))
    if as_json:
        emit_json({"division": division, "name": name, "level": level(division),
                   "home": str(home.path), "next": next_step(division)})
        return
    echo(f"created {level(division)} node {division} {name} in {home.path}")
    echo(next_step(division))
