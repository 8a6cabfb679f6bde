"""The ``tongban`` command.

One module per command group under node/cli/; each command parses its options,
calls one operation in a domain module and prints. ``TongbanGroup`` is the one
boundary every failure passes: errors meant for people (pki.errors.Error) print
as one line on stderr and exit with the error's code (1 refused, 2 could not
run); anything else (a damaged database, a full disk, a permission, an
encoding, an overflow, a bug) is first turned into such an error by
node.failures, so no command ever shows a trace unless ``--verbose`` asks.
Arguments that are not valid UTF-8 are refused before any command runs.

Each command's module is imported when the command runs (``_COMMANDS``), not
when ``tongban`` starts: ``case list`` must not pay for gRPC, the PKI and the
licence code it never touches (issue 18: the whole command in <= 0.5 s).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Iterator, MutableMapping

import click

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


#: Every command: its name and where it lives, imported on first use.
_COMMANDS = {
    "init": "node.cli.init:init", "db": "node.cli.db:db_group", "serve": "node.cli.fed:serve",
    "sync": "node.cli.fed:sync", "status": "node.cli.fed:status_cmd",
    "matter": "node.cli.matter:matter_group", "notice": "node.cli.notice:notice_group",
    "calendar": "node.cli.calendar:calendar_group", "case": "node.cli.case:case_group",
    "crossregion": "node.cli.crossregion:crossregion_group",
    "pki": "node.cli.pki:pki_group", "audit": "node.cli.audit:audit_group",
    "bundle": "node.cli.bundle:bundle_group", "seal": "node.cli.seal:seal_group",
    "licence": "node.cli.licence:licence_group",
    "supervise": "node.cli.supervise:supervise_group", "stats": "node.cli.stats:stats_cmd",
    "evaluation": "node.cli.evaluation:evaluation_group",
    "report": "node.cli.report:report_cmd", "doctor": "node.cli.doctor:doctor",
    "config": "node.cli.config:config_group", "staff": "node.cli.staff:staff_group",
    "problems": "node.cli.problems:problems_group", "recover": "node.cli.recover:recover_cmd",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The root group's commands: every name is known at once, each module imported (and
    given ``-v``) when its command is first looked up."""

    def __init__(self, where: dict[str, str]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, attr = self._where[name].split(":")
            command = getattr(importlib.import_module(module), attr)
            _add_verbose(command)
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._where.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


cli.commands = LazyCommands(_COMMANDS)


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="tongban")

