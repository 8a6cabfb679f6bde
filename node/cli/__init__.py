"""The ``tongban`` command.

One module per command group under node/cli/; each command parses its options,
calls one operation in a domain module and prints. ``TongbanGroup`` is the one
boundary every failure passes: errors meant for people (pki.errors.Error) print
as one line on stderr and exit with the error's code (1 refused, 2 could not
run); anything else (a damaged database, a full disk, a permission, an
encoding, an overflow, a bug) is first turned into such an error by
node.failures, so no command ever shows a trace unless ``--verbose`` asks.
Arguments that are not valid UTF-8 are refused before any command runs.
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
from node.cli.config import config_group
from node.cli.crossregion import crossregion_group
from node.cli.db import db_group
from node.cli.doctor import doctor
from node.cli.evaluation import evaluation_group
from node.cli.fed import serve, status_cmd, sync
from node.cli.init import init
from node.cli.licence import licence_group
from node.cli.matter import matter_group
from node.cli.notice import notice_group
from node.cli.pki import pki_group
from node.cli.problems import problems_group
from node.cli.recover import recover_cmd
from node.cli.report import report_cmd
from node.cli.seal import seal_group
from node.cli.staff import staff_group
from node.cli.stats import stats_cmd
from node.cli.supervise import supervise_group
from node.failures import EncodingProblem, explain
from node.text import printable


def _verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().params["verbose"] = True


#: ``-v`` after the subcommand too (``tongban sync --once -v``): every command gets it
VERBOSE_AFTER = click.Option(["--verbose", "-v"], is_flag=True, expose_value=False,
                             is_eager=True, callback=_verbose,
                             help="Show the full trace on errors.")


def _add_verbose(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_verbose(sub)
    else:
        command.params.append(VERBOSE_AFTER)


class TongbanGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            refuse_undecodable(args)
        except EncodingProblem as exc:
            _fail(exc, verbose=False)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Abort,
                click.exceptions.Exit):
            raise
        except Exception as exc:  # the one boundary: every failure becomes one line
            _fail(explain(exc), verbose=bool(ctx.find_root().params.get("verbose")))


def _fail(error, *, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    click.echo(f"error: {printable(error.diagnostics(), newlines=False)}", err=True)
    sys.exit(error.exit_code)


def refuse_undecodable(args: list[str]) -> None:
    """Python hands bytes that are not UTF-8 over as lone surrogates; name the option."""
    for i, arg in enumerate(args):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            if arg.startswith("--") and "=" in arg:
                where = arg.split("=", 1)[0]
            elif i and args[i - 1].startswith("-"):
                where = args[i - 1]
            else:
                where = f"argument {i + 1}"
            raise EncodingProblem(f"{printable(where)} is not valid UTF-8: retype it, or set "
                                  "a UTF-8 locale (LANG=C.UTF-8)") from None


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

    \b
    Shell completion (bash; zsh and fish alike with zsh_source, fish_source):
      eval "$(_TONGBAN_COMPLETE=bash_source tongban)"
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
cli.add_command(crossregion_group)
cli.add_command(pki_group)
cli.add_command(audit_group)
cli.add_command(bundle_group)
cli.add_command(seal_group)
cli.add_command(licence_group)
cli.add_command(supervise_group)
cli.add_command(stats_cmd)
cli.add_command(evaluation_group)
cli.add_command(report_cmd)
cli.add_command(doctor)
cli.add_command(config_group)
cli.add_command(staff_group)
cli.add_command(problems_group)
cli.add_command(recover_cmd)
for _command in cli.commands.values():
    _add_verbose(_command)


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="tongban")

