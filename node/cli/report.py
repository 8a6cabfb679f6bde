"""``tongban report``: the offline HTML report for a regional operator."""

from __future__ import annotations

import os
from pathlib import Path

import click

from node import report
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home, today
from node.store import NodeStore


@click.command("report")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="HTML file to write.")
@click.option("--subtree", is_flag=True, help="Every node below this one too.")
@click.option("--from", "start", default=None, help="First application date, YYYY-MM-DD.")
@click.option("--to", "end", default=None, help="Last application date, YYYY-MM-DD.")
@json_option
@home_option
def report_cmd(out: str, subtree: bool, start: str | None, end: str | None, as_json: bool,
               home_dir: str | None) -> None:
    """Write one self-contained HTML report (charts inline, no network; prints on A4).

    \b
    Example:
      tongban report --out report.html --subtree --from 2026-01-01
    """
    store = NodeStore.open(resolve_home(home_dir))
    built = report.build(store, today(), subtree=subtree, start=start, end=end)
    target = Path(out)
    tmp = target.with_suffix(target.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(built.html)
    os.replace(tmp, target)
    total = built.figures.total
    if as_json:
        emit_json({"out": str(target), "applications": total["applications"],
                   "red": built.red, "yellow": built.yellow})
        return
    echo(f"wrote {target}: {total['applications']} applications, "
               f"{built.red} red and {built.yellow} yellow cases")
