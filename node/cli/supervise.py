"""``tongban supervise``: lights and clocks of open cases (电子监察), and 督办 notices."""

from __future__ import annotations

import click

from node import supervision
from node.cli.common import (
    echo,
    emit_json,
    format_ms,
    home_option,
    json_option,
    resolve_home,
    table,
)
from node.cli.common import today as today_
from node.store import NodeStore

subtree_option = click.option("--subtree", is_flag=True,
                              help="Every node below this one too, not only its own cases.")


@click.group("supervise")
def supervise_group() -> None:
    """电子监察: red/yellow/green lights, clocks, 督办 notices and replies."""


@supervise_group.command("list")
@subtree_option
@click.option("--light", type=click.Choice(["red", "yellow"]), default=None,
              help="Only cases with this light.")
@click.option("--by", type=click.Choice(supervision.GROUPINGS), default=None,
              help="Count lights per county, implementing body or matter instead.")
@json_option
@home_option
def list_(subtree: bool, light: str | None, by: str | None, as_json: bool,
          home_dir: str | None) -> None:
    """Cases with a running clock, worst first, with the clock that set the light.

    \b
    Example:
      tongban supervise list --subtree --light red
      tongban supervise list --subtree --by county --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    items = supervision.lights(store, today_(), subtree=subtree)
    if light:
        items = [item for item in items if item.light == light]
    if by:
        counts = supervision.group_counts(items, by)
        if as_json:
            emit_json(counts)
            return
        echo(table([by, "red", "yellow", "green"],
                         [(c[by], c["red"], c["yellow"], c["green"]) for c in counts]))
        return
    if as_json:
        emit_json([item.to_dict() for item in items])
        return
    rows = []
    for item in items:
        for clock in item.clocks:
            rows.append((item.light, item.case_no, item.state, clock.name, clock.due,
                         clock.remaining, clock.light, clock.ref))
    echo(table(["light", "case", "state", "clock", "due", "left", "clock light", "ref"],
                     rows))
    echo(f"{sum(i.light == 'red' for i in items)} red, "
               f"{sum(i.light == 'yellow' for i in items)} yellow, "
               f"{sum(i.light == 'green' for i in items)} green")


@supervise_group.command("notice")
@click.argument("case_no")
@click.option("--text", required=True, help="What the owner must look into.")
@click.option("--due", "due_days", type=int, required=True,
              help="Working days the owner has to reply.")
@json_option
@home_option
def notice(case_no: str, text: str, due_days: int, as_json: bool, home_dir: str | None
           ) -> None:
    """Send a 督办 notice about a case in this node's subtree to the node that owns it.

    \b
    Example:
      tongban supervise notice 540102-2026-0000032 --text 请说明超期原因 --due 3
    """
    store = NodeStore.open(resolve_home(home_dir))
    notice_id = supervision.send_notice(store, case_no, text, due_days)
    if as_json:
        emit_json({"notice": notice_id, "case_no": case_no, "due_days": due_days})
        return
    echo(f"督办 {notice_id} about {case_no}: goes down with the next sync")


@supervise_group.command("reply")
@click.argument("notice_id")
@click.option("--text", required=True, help="The owner's answer.")
@json_option
@home_option
def reply(notice_id: str, text: str, as_json: bool, home_dir: str | None) -> None:
    """Answer a 督办 notice about one of this node's cases (ID as in supervise notices).

    \b
    Example:
      tongban supervise reply 540000#12 --text 已补齐材料，今日办结
    """
    store = NodeStore.open(resolve_home(home_dir))
    reply_id = supervision.reply(store, notice_id, text)
    if as_json:
        emit_json({"reply": reply_id, "notice": notice_id})
        return
    echo(f"reply {reply_id} to 督办 {notice_id}: goes up with the next sync")


@supervise_group.command("notices")
@subtree_option
@json_option
@home_option
def notices(subtree: bool, as_json: bool, home_dir: str | None) -> None:
    """督办 notices sent or received here, answered or not.

    \b
    Example:
      tongban supervise notices --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    found = supervision.notices(store, subtree=subtree)
    if as_json:
        emit_json([{**vars(n), "answered": n.answered} for n in found])
        return
    echo(table(["id", "case", "to", "sent", "due", "reply", "text"],
                     [(n.id, n.case_no, n.owner, format_ms(n.sent_ms), n.due,
                       n.reply_text or "unanswered", n.text) for n in found]))
