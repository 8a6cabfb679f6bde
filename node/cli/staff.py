"""``tongban staff``: the staff register (node.staff) — who may act on this node's cases."""

from __future__ import annotations

import click

from node import staff
from node.authority import ROLES
from node.cli.common import emit_json, home_option, json_option, resolve_home, table
from node.store import NodeStore


@click.group("staff")
def staff_group() -> None:
    """Staff register (人员): add, list, disable. Case actors must be on it."""


def _line(member: staff.Member) -> str:
    state = "active" if member.active else "disabled"
    return f"{member.staff_id} {member.name} ({', '.join(member.roles)}) {state}"


@staff_group.command("add")
@click.option("--id", "staff_id", required=True, help="Staff ID, what --actor names (窗口03).")
@click.option("--name", required=True, help="The person's name.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="clerk 受理/补正/送达, reviewer 审查, approver 决定/办结, supervisor, admin "
                   "(repeat for several).")
@home_option
def add(staff_id: str, name: str, roles: tuple[str, ...], home_dir: str | None) -> None:
    """Register a staff member, or change their name and roles.

    \b
    Example:
      tongban staff add --id 窗口03 --name 次仁 --role clerk
    """
    click.echo(_line(staff.add(NodeStore.open(resolve_home(home_dir)), staff_id, name,
                               list(roles))))


@staff_group.command("list")
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled members.")
@json_option
@home_option
def list_(include_disabled: bool, as_json: bool, home_dir: str | None) -> None:
    """List this node's staff register.

    \b
    Example:
      tongban staff list --all
    """
    found = staff.members(NodeStore.open(resolve_home(home_dir)),
                          include_disabled=include_disabled)
    if as_json:
        emit_json([m.to_dict() for m in found])
        return
    click.echo(table(["id", "name", "roles", ""],
                     [(m.staff_id, m.name, ", ".join(m.roles),
                       "" if m.active else "disabled") for m in found]))


@staff_group.command("disable")
@click.argument("staff_id")
@click.option("--reason", required=True, help="Why (调离, 离职 …); kept in the record.")
@home_option
def disable(staff_id: str, reason: str, home_dir: str | None) -> None:
    """Take a member off the register: their later case actions are refused.

    \b
    Example:
      tongban staff disable 窗口03 --reason 调离
    """
    click.echo(_line(staff.disable(NodeStore.open(resolve_home(home_dir)), staff_id, reason)))
