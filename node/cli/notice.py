"""``tongban notice``: notices addressed from one node to another anywhere in the tree.

A notice to a node outside the sender's own line (a sibling county, another
region) travels up with the sender's log and down as a delivery: the record,
its signed checkpoint and an inclusion proof (sync/deliver.py).
"""

from __future__ import annotations

import click

from node.cli.common import emit_json, format_ms, home_option, json_option, resolve_home, table
from node.store import Draft, NodeStore
from pki.division import in_subtree, validate
from pki.errors import InputError
from protos.tongban.v1 import record_pb2


@click.group("notice")
def notice_group() -> None:
    """Notices (通知) between nodes: send, list."""


@notice_group.command("send")
@click.option("--to", "recipient", required=True, help="Division code of the receiving node.")
@click.option("--title", required=True)
@click.option("--text", required=True)
@home_option
def send(recipient: str, title: str, text: str, home_dir: str | None) -> None:
    """Send a notice to another node; it goes out with the next sync.

    \b
    Example:
      tongban notice send --to 540121 --title 代收材料已寄出 --text 扎西的户籍材料已于今日寄出
    """
    validate(recipient)
    store = NodeStore.open(resolve_home(home_dir))
    if recipient == store.division:
        raise InputError(f"a notice to {recipient} would be addressed to this node itself")
    if not title.strip():
        raise InputError("notice title must not be empty")
    body = record_pb2.PolicyNotice(title=title, text=text).SerializeToString()
    written = store.write([Draft(record_pb2.POLICY_NOTICE, lambda _s, _h: body, recipient)])
    seq = store.log.size(store.division) - len(written)
    click.echo(f"notice {store.division}#{seq} to {recipient}: goes out with the next sync")


@notice_group.command("list")
@json_option
@home_option
def list_(as_json: bool, home_dir: str | None) -> None:
    """Notices this node sent or received (including those for nodes below it).

    \b
    Example:
      tongban notice list --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    rows = [
        {"origin": origin, "seq": seq, "recipient": recipient, "at_ms": at_ms, "title": title,
         "text": text}
        for origin, seq, recipient, at_ms, title, text in store.db.execute(
            "SELECT origin, seq, recipient, at_ms, title, text FROM notices ORDER BY at_ms")
        if origin == store.division or in_subtree(store.division, recipient)
    ]
    if as_json:
        emit_json(rows)
        return
    click.echo(table(["time", "from", "to", "title", "text"],
                     [(format_ms(r["at_ms"]), r["origin"], r["recipient"], r["title"], r["text"])
                      for r in rows]))
