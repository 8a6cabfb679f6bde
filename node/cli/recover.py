"""``tongban recover``: fetch this node's signed log back from the parent, or from a child
when there is no parent to ask (node.recovery)."""

from __future__ import annotations

import click

from node import recovery
from node.cli.common import emit_json, home_option, json_option, resolve_home
from pki.errors import InputError


def _stderr(line: str) -> None:
    click.echo(line, err=True)


@click.command("recover")
@click.option("--ancestor", default=None, metavar="DIVISION",
              help="parent_address points at this higher ancestor, because the parent "
                   "lost its disk too.")
@click.option("--from-child", "child", default=None, metavar="DIVISION",
              help="Ask this child instead, which holds this node's log as its parent's "
                   "(the national node has no parent); with --address.")
@click.option("--address", default=None, metavar="HOST:PORT",
              help="Where the child given by --from-child runs 'tongban serve'.")
@click.option("--accept-loss", is_flag=True,
              help="Records this key signed that no ancestor holds are lost for good: "
                   "resume at what was fetched (their sequence and case numbers are "
                   "issued again). Only after the parent was synced and still lacks them.")
@json_option
@home_option
def recover_cmd(ancestor: str | None, child: str | None, address: str | None,
                accept_loss: bool, as_json: bool, home_dir: str | None) -> None:
    """Fetch back this node's own and subtree logs from the parent, then resume writing.

    Run it after a lost disk, an empty node.db or `tongban db restore`: every
    record fetched is checked against this node's own signed checkpoints, and
    writes resume at the true size, so no case number is issued twice. The
    national node, which has no parent, asks a child with --from-child: the
    child must be serving, and holds the national log as far as it last synced.
    Exit 0 when writes resume, 1 when they stay refused (the line says why).

    \b
    Example:
      tongban recover
      tongban recover --from-child 540000 --address 10.54.0.1:7443 --home /srv/tongban-000000
    """
    if (child is None) != (address is None):
        raise InputError("--from-child and --address go together: the child's division and "
                         "where its 'tongban serve' listens")
    if child is not None and ancestor is not None:
        raise InputError("--ancestor and --from-child exclude each other: ask an ancestor "
                         "(at parent_address) or a child")
    done = recovery.recover(resolve_home(home_dir), ancestor, _stderr, accept_loss=accept_loss,
                            from_child=(child, address) if child and address else None)
    if done.lost:
        _stderr(f"warning: records {done.lost[0]}..{done.lost[1] - 1} of this node's log "
                "were written here and never replicated: they are lost, and their numbers "
                "will be issued again")
    if as_json:
        emit_json(done.to_dict())
    else:
        click.echo(f"recovered from {done.server}: fetched "
                   f"{sum(done.fetched.values())} records; this node holds {done.own_size} "
                   f"records of its own log, {done.server} holds {done.server_size}")
    if done.still_refused:
        hint = ("; the server holds no more of it: if those records never left this node, "
                "'tongban recover --accept-loss' resumes without them"
                if done.loss_possible else "")
        raise InputError(f"writes still refused: {done.still_refused}{hint}")
    if not as_json:
        click.echo(f"writes resume at seq {done.own_size}")
