"""``tongban serve``, ``tongban sync`` and ``tongban status``: the federation link."""

from __future__ import annotations

import time

import click

from node import link, status
from node.cli.common import (
    echo,
    emit_json,
    format_ms,
    home_option,
    json_option,
    resolve_home,
    table,
)
from node.serve import serve as run_server
from node.store import NodeStore
from node.wiring import build


def _stderr(line: str) -> None:
    echo(line, err=True)


@click.command()
@click.option("--listen", default=None, help="HOST:PORT (default: listen_address in config).")
@click.option("--no-uplink", is_flag=True,
              help="Only serve children; do not sync with the parent (maintenance, tests).")
@home_option
def serve(listen: str | None, no_uplink: bool, home_dir: str | None) -> None:
    """Serve children over mutual TLS and keep syncing with the parent.

    Runs until SIGTERM or Ctrl-C, then stops between batches.

    \b
    Example:
      tongban serve --home /var/lib/tongban
    """
    store = NodeStore.open(resolve_home(home_dir))
    run_server(store, lambda line: _stderr(f"{time.strftime('%H:%M:%S')} {line}"), listen,
               uplink=not no_uplink)


@click.command()
@click.option("--once", is_flag=True, required=True,
              help="One full exchange with the parent, then exit.")
@home_option
def sync(once: bool, home_dir: str | None) -> None:
    """Push this node's and its subtree's records to the parent and pull what flows down.

    Exit 0 when the exchange completed; 2 when the parent is unreachable
    (try again later: nothing is lost); 1 when the parent refused.

    \b
    Example:
      tongban sync --once
    """
    store = NodeStore.open(resolve_home(home_dir))
    replica = build(store)
    uplink = link.make_uplink(store, replica, progress=_stderr)
    try:
        report = link.exchange_once(store, uplink)
    finally:
        uplink.close()
    echo(f"synced with {report.parent} in {report.seconds:.1f}s: pushed "
               f"{sum(report.pushed.values())} records, pulled {sum(report.pulled.values())}, "
               f"{report.delivered} addressed to this subtree, "
               f"{report.receipts} receipts, {report.bytes_sent} bytes sent")


@click.command("status")
@json_option
@home_option
def status_cmd(as_json: bool, home_dir: str | None) -> None:
    """The link upward (state, waiting records, newest receipt, lag) and the subtree below.

    \b
    Example:
      tongban status --json
    """
    info = status.collect(NodeStore.open(resolve_home(home_dir)))
    if as_json:
        emit_json(info.to_dict())
        return
    lk = info.link
    now = int(time.time() * 1000)
    echo(f"node {info.division} {info.name}")
    if lk.parent or lk.address:
        echo(f"link to {lk.parent or '?'} at {lk.address}: {lk.state}")
        echo(f"  last success     {format_ms(lk.last_success_ms)}")
        if lk.last_error:
            echo(f"  last error       {lk.last_error}")
        echo(f"  throughput       {lk.throughput_bps * 8 / 1000:.1f} kbit/s (payload)")
        echo(f"  newest receipt   size {info.newest_receipt_size or 0} at "
                   f"{format_ms(info.newest_receipt_ms)}")
        since = (f"{(now - info.newest_receipt_ms) / 1000:.0f}s"
                 if info.newest_receipt_ms else "never")
        echo(f"  since last receipt {since}")
        oldest = min((o.oldest_waiting_ms for o in info.outbox if o.oldest_waiting_ms),
                     default=None)
        lag = f", oldest waiting {(now - oldest) / 1000:.0f}s" if oldest else ""
        echo(f"  waiting          {info.waiting_records} records, "
                   f"{info.waiting_bytes} bytes{lag}")
    else:
        echo("no parent link (top of the federation, or not configured)")
    if info.subtree:
        echo(table(["node", "records", "checkpoint", "last seen"],
                         [(n.origin, n.records, n.checkpoint_size, format_ms(n.last_seen_ms))
                          for n in info.subtree]))


__all__ = ["serve", "status_cmd", "sync"]

