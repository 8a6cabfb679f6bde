"""``tongban doctor``: run every operator check and print one verdict each."""

from __future__ import annotations

import sys

import click

from node import doctor as checks
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home, table


@click.command()
@json_option
@home_option
def doctor(as_json: bool, home_dir: str | None) -> None:
    """Check database, link, problems, certificates, clock, disk, backup, calendar, config.

    Exit codes follow the Nagios plugin convention, the one exception to the
    CLI's usual codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (worst wins;
    CRITICAL before WARNING before UNKNOWN).

    \b
    Example:
      tongban doctor --json
    """
    found = checks.run(resolve_home(home_dir))
    code = checks.overall(found)
    if as_json:
        emit_json({"verdict": checks.NAMES[code], "code": code,
                   "checks": [c.to_dict() for c in found]})
    else:
        echo(table(["check", "verdict", "detail"],
                         [(c.name, checks.NAMES[c.code], c.message) for c in found]))
        echo(f"doctor: {checks.NAMES[code]}")
    sys.exit(code)
