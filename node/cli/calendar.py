"""``tongban calendar``: publish and show working-day calendar notices (node.calendar)."""

from __future__ import annotations

import click

from node import calendar
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home, table
from node.store import NodeStore


@click.group("calendar")
def calendar_group() -> None:
    """Working-day calendar notices: publish, show."""


@calendar_group.command("publish")
@click.option("--year", type=int, required=True)
@click.option("--holiday", "holidays", multiple=True, help="A day off (repeat).")
@click.option("--workday", "workdays", multiple=True,
              help="An adjusted working weekend day (repeat).")
@json_option
@home_option
def publish(year: int, holidays: tuple[str, ...], workdays: tuple[str, ...], as_json: bool,
            home_dir: str | None) -> None:
    """Publish holidays and adjusted working days for every node below this one
    (national, province and prefecture nodes: counties use what they receive).

    \b
    Example:
      tongban calendar publish --year 2027 --holiday 2027-02-07 --holiday 2027-02-08 \\
          --workday 2027-02-13
    """
    store = NodeStore.open(resolve_home(home_dir))
    done = calendar.publish(store, year, list(holidays), list(workdays))
    if as_json:
        emit_json({"origin": store.division, "year": done.year, "holidays": done.holidays,
                   "working_days": done.working_days})
        return
    echo(f"published {len(done.holidays)} holidays and {len(done.working_days)} working "
               f"days for {year} from {store.division}; nodes below count with them after "
               "their next sync")


@calendar_group.command("show")
@click.option("--for", "division", default=None, metavar="DIVISION",
              help="The division whose cases to show the calendar of (default: this node).")
@json_option
@home_option
def show(division: str | None, as_json: bool, home_dir: str | None) -> None:
    """Calendar notices in force for this node's cases, or those of --for DIVISION.

    A notice counts only in its publisher's subtree; where two publishers set
    a day, the nearer one wins, and of one publisher the latest notice.

    \b
    Example:
      tongban calendar show --json
    """
    rows = calendar.in_force(NodeStore.open(resolve_home(home_dir)), division)
    if as_json:
        emit_json(rows)
        return
    echo(table(["day", "", "from"], [(r["day"], "working day" if r["workday"]
                                            else "holiday", r["from"]) for r in rows]))
