"""``tongban notice``: send and list notices between nodes (node.notices)."""

from __future__ import annotations

import click

from node import notices
from node.cli.common import (
    echo,
    emit_json,
    format_ms,
    home_option,
    json_option,
    resolve_home,
    table,
)
from node.store import NodeStore


@click.group("notice")
def notice_group() -> None:
    """Notices (通知) between nodes: send, list."""


@notice_group.command("send")
@click.option("--to", "recipient", required=True, help="Division code of the receiving node.")
@click.option("--title", required=True)
@click.option("--text", required=True)
@json_option
@home_option
def send(recipient: str, title: str, text: str, as_json: bool, home_dir: str | None) -> None:
    """Send a notice to another node; it goes out with the next sync.

    \b
    Example:
      tongban notice send --to 540121 --title 代收材料已寄出 --text 扎西的户籍材料已于今日寄出
    """
    store = NodeStore.open(resolve_home(home_dir))
    seq = notices.send(store, recipient, title, text)
    if as_json:
        emit_json({"origin": store.division, "seq": seq, "recipient": recipient})
        return
    echo(f"notice {store.division}#{seq} to {recipient}: goes out with the next sync")


@notice_group.command("list")
@json_option
@home_option
def list_(as_json: bool, home_dir: str | None) -> None:
    """Notices this node sent or received (including those for nodes below it).

    \b
    Example:
      tongban notice list --json
    """
    rows = notices.listed(NodeStore.open(resolve_home(home_dir)))
    if as_json:
        emit_json(rows)
        return
    echo(table(["time", "from", "to", "title", "text"],
                     [(format_ms(r["at_ms"]), r["origin"], r["recipient"], r["title"], r["text"])
                      for r in rows]))
