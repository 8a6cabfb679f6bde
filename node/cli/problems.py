"""``tongban problems``: the one inbox of what this node refused or could not apply."""

from __future__ import annotations

import sys

import click

from node import problems
from node.cli.common import emit_json, format_ms, home_option, json_option, resolve_home, table
from node.store import NodeStore


@click.group("problems")
def problems_group() -> None:
    """Problems: authority violations, unknown kinds, refused batches, forks (list, show)."""


@problems_group.command("list")
@click.option("--all", "include_resent", is_flag=True,
              help="Also batches refused only for arriving early (resent by the sender).")
@json_option
@home_option
def list_(include_resent: bool, as_json: bool, home_dir: str | None) -> None:
    """List every problem with its reason; exit 1 when there are any.

    \b
    Example:
      tongban problems list --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    found = problems.listed(store.db, include_resent=include_resent)
    if as_json:
        emit_json([p.to_dict() for p in found])
    else:
        click.echo(table(["id", "origin", "seq", "rule", "reason"],
                         [(p.id, p.origin, "-" if p.seq is None else p.seq, p.rule, p.reason)
                          for p in found]))
        click.echo(f"{len(found)} problems" + (": see 'tongban problems show ID' for what to "
                                               "do" if found else ""))
    if found:
        sys.exit(1)


@problems_group.command("show")
@click.argument("problem_id")
@json_option
@home_option
def show(problem_id: str, as_json: bool, home_dir: str | None) -> None:
    """Show one problem: what happened, why, and what to do.

    \b
    Example:
      tongban problems show authority:540000#12
    """
    problem = problems.show(NodeStore.open(resolve_home(home_dir)).db, problem_id)
    if as_json:
        emit_json(problem.to_dict())
        return
    click.echo(f"{'problem':10} {problem.id}")
    click.echo(f"{'origin':10} {problem.origin}" + ("" if problem.seq is None
                                                    else f" #{problem.seq}"))
    click.echo(f"{'rule':10} {problem.rule}")
    for key, value in problem.details.items():
        shown = format_ms(value) if key.endswith("_ms") else value
        click.echo(f"{key:10} {shown}")
    click.echo(f"{'reason':10} {problem.reason}")
    click.echo(f"{'to do':10} {problem.advice}")
