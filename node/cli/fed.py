"""``tongban serve``, ``tongban sync`` and ``tongban status``: the federation link."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict

import click

from node import children, link, logs, status
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

#: ``status`` exit code while the link to the parent is down or refused
LINK_DOWN_EXIT = 1


def _stderr(line: str) -> None:
    echo(line, err=True)


@click.command()
@click.option("--listen", default=None, help="HOST:PORT (default: listen_address in config).")
@click.option("--no-uplink", is_flag=True,
              help="Only serve children; do not sync with the parent (maintenance, tests).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log lines as text or one JSON object each (default: [log] format).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default=None, help="Lowest level logged (default: [log] level).")
@home_option
def serve(listen: str | None, no_uplink: bool, log_format: str | None, log_level: str | None,
          home_dir: str | None) -> None:
    """Serve children over mutual TLS and keep syncing with the parent.

    Runs until SIGTERM or Ctrl-C, then stops between batches; SIGHUP reloads
    the certificate. Logs go to stderr (journald priorities under systemd).

    \b
    Example:
      tongban serve --log-format json --home /var/lib/tongban
    """
    store = NodeStore.open(resolve_home(home_dir))
    collapse = logs.setup(log_level or store.config.log_level,
                          log_format or store.config.log_format)
    try:
        run_server(store, listen, uplink=not no_uplink)
    finally:
        collapse.flush()


@click.command()
@click.option("--once", is_flag=True, required=True,
              help="One full exchange with the parent, then exit.")
@json_option
@home_option
def sync(once: bool, as_json: bool, home_dir: str | None) -> None:
    """Push this node's and its subtree's records to the parent and pull what flows down.

    Exit 0 when the exchange completed; 2 when the parent is unreachable
    (try again later: nothing is lost); 1 when the parent refused.

    \b
    Example:
      tongban sync --once
    """
    store = NodeStore.open(resolve_home(home_dir))
    replica = build(store)
    uplink = link.make_uplink(store, replica, progress=None if as_json else _stderr)
    try:
        report = link.exchange_once(store, uplink)
    finally:
        uplink.close()
    if as_json:
        emit_json(asdict(report))
        return
    echo(f"synced with {report.parent} in {report.seconds:.1f}s: pushed "
               f"{sum(report.pushed.values())} records, pulled {sum(report.pulled.values())}, "
               f"{report.delivered} addressed to this subtree, "
               f"{report.receipts} receipts, {report.wire_bytes_sent} bytes sent (compressed)")


@click.command("status")
@click.option("--subtree", is_flag=True,
              help="List every enrolled child and grandchild, synced or not.")
@json_option
@home_option
def status_cmd(subtree: bool, as_json: bool, home_dir: str | None) -> None:
    """The link upward (state, waiting records, newest receipt, lag) and the subtree below.

    Exits 1 while the link to the parent is down or refused (0 when it is up,
    never tried, or there is no parent), so a cron job or probe can alert on it.

    \b
    Example:
      tongban status --subtree --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    if subtree:
        _print_subtree(children.subtree(store), as_json)
        sys.exit(LINK_DOWN_EXIT if status.collect(store).link.is_down else 0)
    info = status.collect(store)
    if as_json:
        emit_json(info.to_dict())
        sys.exit(LINK_DOWN_EXIT if info.link.is_down else 0)
    lk = info.link
    now = int(time.time() * 1000)
    echo(f"node {info.division} {info.name}")
    if lk.parent or lk.address:
        echo(f"link to {lk.parent or '?'} at {lk.address}: {lk.state}")
        echo(f"  last success     {format_ms(lk.last_success_ms)}")
        if lk.last_error:
            echo(f"  last error       {lk.last_error}")
        echo(f"  last attempt     {format_ms(lk.last_attempt_ms)}")
        echo(f"  throughput       {lk.wire_bps * 8 / 1000:.1f} kbit/s on the wire "
                   f"({lk.throughput_bps * 8 / 1000:.1f} kbit/s before gzip)")
        if lk.clock_offset_ms is not None:
            echo(f"  parent clock     {lk.clock_offset_ms / 1000:+.0f}s from ours")
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
    for cert in info.cert_warnings:
        echo(f"warning: {cert}")
    sys.exit(LINK_DOWN_EXIT if lk.is_down else 0)


def _print_subtree(views: list[children.ChildView], as_json: bool) -> None:
    if as_json:
        emit_json([v.to_dict() for v in views])
        return
    if not views:
        echo("no enrolled children")
        return
    now = time.time()
    echo(table(
        ["node", "issuer", "records", "behind", "last contact", "last receipt", "problems",
         "cert expires", "last refusal"],
        [(v.division, v.issuer, v.records, "-" if v.behind_records is None else v.behind_records,
          format_ms(v.last_contact_ms), format_ms(v.last_receipt_ms), v.problems,
          f"{(v.cert_expires_ms / 1000 - now) / 86400:.0f} days",
          (f"{format_ms(v.last_refusal_ms)} {v.last_refusal[:60]}" if v.last_refusal_ms
           else "-")) for v in views]))


__all__ = ["serve", "status_cmd", "sync"]

