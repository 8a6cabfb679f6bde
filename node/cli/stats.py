"""``tongban stats``: applications, outcomes, time, channels and 好差评, for a node or subtree."""

from __future__ import annotations

import csv
import io

import click

from node import stats
from node.cli.common import echo, emit_json, home_option, resolve_home, table
from node.store import NodeStore

_COLUMNS = ("applications", "accepted", "refused", "concluded", "withdrawn", "on_time_rate",
            "average_days", "p90_days", "instant_share", "one_visit_share", "supplement_rounds",
            "no_visit_share", "evaluated", "good_rate", "poor", "poor_closed_rate")


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


@click.command("stats")
@click.option("--subtree", is_flag=True, help="Every node below this one too.")
@click.option("--by", type=click.Choice(stats.GROUPINGS), default=None, help="Group rows by.")
@click.option("--from", "start", default=None, help="First application date, YYYY-MM-DD.")
@click.option("--to", "end", default=None, help="Last application date, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV for a spreadsheet.")
@home_option
def stats_cmd(subtree: bool, by: str | None, start: str | None, end: str | None,
              as_json: bool, as_csv: bool, home_dir: str | None) -> None:
    """Statistics (按时办结率, 一次办结, 不见面, 好差评 …) computed offline from the records held.

    \b
    Example:
      tongban stats --subtree --by county
      tongban stats --subtree --by month --from 2026-01-01 --to 2026-12-31 --csv
    """
    store = NodeStore.open(resolve_home(home_dir))
    result = stats.compute(store, subtree=subtree, by=by, start=start, end=end)
    if as_json:
        emit_json(result.to_dict())
        return
    rows = [{by or "scope": "total", **result.total}, *result.groups]
    key = by or "scope"
    if as_csv:
        out = io.StringIO()
        columns = [key, *(["rank"] if by == "county" else []), *_COLUMNS]
        writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        echo(out.getvalue(), nl=False)
        return
    echo(table(
        [key, "申请", "受理", "不予受理", "办结", "撤回", "按时办结率", "平均工作日", "P90",
         "即办件", "一次办结", "补正次数", "不见面", "评价", "好评率", "差评", "差评整改率"],
        [(r[key], r["applications"], r["accepted"], r["refused"], r["concluded"],
          r["withdrawn"], _pct(r["on_time_rate"]),
          r["average_days"] if r["average_days"] is not None else "-",
          r["p90_days"] if r["p90_days"] is not None else "-", _pct(r["instant_share"]),
          _pct(r["one_visit_share"]), r["supplement_rounds"], _pct(r["no_visit_share"]),
          r["evaluated"],
          _pct(r["good_rate"]), r["poor"], _pct(r["poor_closed_rate"])) for r in rows]))
    cat = result.catalogue
    echo(f"catalogue: {cat['items']} items, 网上可办率 {_pct(cat['online_rate'])}, "
               f"全程网办率 {_pct(cat['fully_online_rate'])}")
    echo(f"calendar: {result.calendar}")
