"""Every command's --help, and the examples it prints: they parse, and those that
need nothing but a node home run on a fresh one with the sample catalogue."""

from __future__ import annotations

import shlex
import shutil

import click
import pytest
from click.testing import CliRunner

from node.catalogue_file import sample_catalogue_path
from node.cli import cli
from node.licence_format import LICENCE_ARC, issuing_node

CLOCK = {"TONGBAN_CLOCK": "2026-11-02T10:00"}

#: Examples run for real, in this order, on one fresh home; the rest need a
#: parent, a link, a CA, a higher level (calendar publish) or files from elsewhere and are
#: only parsed.
RUNNABLE = [
    ("init",), ("matter", "import"), ("matter", "add"), ("matter", "list"), ("matter", "show"),
    ("staff", "add"), ("staff", "list"), ("case", "apply"), ("case", "list"), ("calendar", "show"),
    ("notice", "send"), ("notice", "list"), ("status",), ("db", "rebuild"), ("pki", "csr"),
    ("matter", "retire"), ("problems", "list"), ("staff", "disable"), ("matter", "check"),
    ("matter", "requests"), ("matter", "base", "list"),
]


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, (path, result.output)
    return result.output


def _examples(help_text: str) -> list[list[str]]:
    """The ``tongban …`` invocations under "Example:", continuation lines joined."""
    lines = help_text.split("Example:", 1)[1].split("\nOptions:", 1)[0].splitlines()
    joined, current = [], ""
    for line in lines:
        current += line.strip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current:
            joined.append(current)
        current = ""
    examples = []
    for line in joined:
        for part in line.split("&&"):
            words = shlex.split(part)
            if words and words[0] == "tongban":
                examples.append(words[1:])
    return examples


def _parse(args: list[str]) -> tuple[str, ...]:
    """Resolve and parse ``args`` with click's own parser; returns the command path."""
    ctx = cli.make_context("tongban", list(args))
    command: click.Command = cli
    path: list[str] = []
    while isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            break
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None, args
        path.append(name)
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return tuple(path)


ALL = list(_commands(cli))


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) or "tongban" for p, _ in ALL])
def test_help_is_plain_and_every_example_parses(path, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(sample_catalogue_path(), tmp_path / "catalogue.toml")
    text = _help(path)
    assert "\\b" not in text, f"literal \\b in {' '.join(path)} --help"
    examples = _examples(text) if "Example:" in text else []
    if not isinstance(command, click.Group) or path == ():
        assert examples, f"{' '.join(path) or 'tongban'} --help shows no example"
    parsed = [_parse(args) for args in examples]
    if examples:
        assert any(got[:len(path)] == path for got in parsed), (path, examples)
    # A licence number in an example is one `licence issue` could print: its check holds.
    for word in (w for args in examples for w in args if w.startswith(LICENCE_ARC + ".")):
        assert issuing_node(word) == "540102", word


def test_runnable_examples_run_on_a_fresh_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(sample_catalogue_path(), tmp_path / "catalogue.toml")
    home = tmp_path / "home"
    for path in RUNNABLE:
        own = [args for args in _examples(_help(path)) if _parse(args) == path]
        assert own, f"{' '.join(path)} --help has no example of itself"
        for args in own:
            if "--home" in args:
                at = args.index("--home")
                args = args[:at] + args[at + 2:]
            result = CliRunner().invoke(cli, [*args, "--home", str(home)], env=CLOCK)
            assert result.exit_code == 0, (args, result.output)
