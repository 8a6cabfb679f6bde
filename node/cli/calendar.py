"""``tongban calendar``: official working-day calendar notices.

chinese-calendar knows the national holidays only for years already announced,
and no regional holidays (藏历新年, 雪顿节, 肉孜节, 古尔邦节). A national or
regional operator publishes them as a calendar notice: a record in its own log
that flows down to every node below, where deadlines start counting with it.
"""

from __future__ import annotations

from datetime import date

import click

from node.cli.common import emit_json, home_option, json_option, resolve_home, table
from node.store import Draft, NodeStore
from pki.errors import InputError
from protos.tongban.v1 import record_pb2


@click.group("calendar")
def calendar_group() -> None:
    """Working-day calendar notices: publish, show."""


def _dates(values: tuple[str, ...], what: str, year: int) -> list[str]:
    out = []
    for value in values:
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise InputError(f"bad {what} date {value!r}: want YYYY-MM-DD") from exc
        if day.year != year:
            raise InputError(f"{what} date {value} is not in {year}")
        out.append(day.isoformat())
    return sorted(set(out))


@calendar_group.command("publish")
@click.option("--year", type=int, required=True)
@click.option("--holiday", "holidays", multiple=True, help="A day off (repeat).")
@click.option("--workday", "workdays", multiple=True,
              help="An adjusted working weekend day (repeat).")
@home_option
def publish(year: int, holidays: tuple[str, ...], workdays: tuple[str, ...],
            home_dir: str | None) -> None:
    """Publish holidays and adjusted working days for every node below this one.

    \b
    Example:
      tongban calendar publish --year 2027 --holiday 2027-02-07 --holiday 2027-02-08 \\
          --workday 2027-02-13
    """
    off = _dates(holidays, "holiday", year)
    on = _dates(workdays, "working", year)
    if not off and not on:
        raise InputError("nothing to publish: give --holiday and/or --workday dates")
    both = sorted(set(off) & set(on))
    if both:
        raise InputError(f"{', '.join(both)} given both as holiday and as working day")
    body = record_pb2.CalendarNotice(year=year, holidays=off, working_days=on
                                     ).SerializeToString()
    store = NodeStore.open(resolve_home(home_dir))
    store.write([Draft(record_pb2.CALENDAR_NOTICE, lambda _s, _h: body)])
    click.echo(f"published {len(off)} holidays and {len(on)} working days for {year} "
               f"from {store.division}; nodes below count with them after their next sync")


@calendar_group.command("show")
@json_option
@home_option
def show(as_json: bool, home_dir: str | None) -> None:
    """Calendar notices in force on this node (the latest notice for a day wins).

    \b
    Example:
      tongban calendar show --json
    """
    store = NodeStore.open(resolve_home(home_dir))
    rows = [{"day": day, "workday": bool(workday), "from": origin}
            for day, workday, origin in store.db.execute(
                "SELECT day, workday, origin FROM calendar_overrides ORDER BY day")]
    if as_json:
        emit_json(rows)
        return
    click.echo(table(["day", "", "from"], [(r["day"], "working day" if r["workday"]
                                            else "holiday", r["from"]) for r in rows]))
