"""The ``tongban`` command.

One module per command group under node/cli/; each command parses its options,
calls one operation in a domain module and prints. Errors meant for people
(pki.errors.Error) print as one line on stderr and exit with the error's code
(1 refused, 2 could not run); ``--verbose`` adds the trace. Anything else is a
bug and shows its trace.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from node.cli.audit import audit_group
from node.cli.bundle import bundle_group
from node.cli.calendar import calendar_group
from node.cli.case import case_group
from node.cli.db import db_group
from node.cli.evaluation import evaluation_group
from node.cli.fed import serve, status_cmd, sync
from node.cli.init import init
from node.cli.licence import licence_group
from node.cli.matter import matter_group
from node.cli.notice import notice_group
from node.cli.pki import pki_group
from node.cli.recover import recover_cmd
from node.cli.report import report_cmd
from node.cli.seal import seal_group
from node.cli.stats import stats_cmd
from node.cli.supervise import supervise_group
from pki.errors import Error


class TongbanGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Error as exc:
            if ctx.find_root().params.get("verbose"):
                traceback.print_exc()
            click.echo(f"error: {exc.diagnostics()}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=TongbanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Show the full trace on errors.")
@click.version_option(package_name="tongban")
def cli(verbose: bool) -> None:
    """tongban: the node of a federated government-service network (一网通办).

    \b
    Example:
      tongban init --division 540102 --name 城关区
      tongban matter import catalogue.toml
      tongban case list --due-soon
    """


cli.add_command(init)
cli.add_command(db_group)
cli.add_command(serve)
cli.add_command(sync)
cli.add_command(status_cmd)
cli.add_command(matter_group)
cli.add_command(notice_group)
cli.add_command(calendar_group)
cli.add_command(case_group)
cli.add_command(pki_group)
cli.add_command(audit_group)
cli.add_command(bundle_group)
cli.add_command(seal_group)
cli.add_command(licence_group)
cli.add_command(supervise_group)
cli.add_command(stats_cmd)
cli.add_command(evaluation_group)
cli.add_command(report_cmd)
cli.add_command(recover_cmd)


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="tongban")

