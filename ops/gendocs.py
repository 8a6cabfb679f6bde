"""Writes docs/config.md (node.config_schema), docs/cli.md (every --help) and docs/catalogue.md
(node.catalogue_schema: the catalogue file format).

``python -m ops.gendocs`` regenerates them; tests/test_ops_docs.py fails when a
committed copy differs from what this prints, so the docs cannot go stale.
"""

from __future__ import annotations

from pathlib import Path

import click

from node import catalogue_schema, config_schema
from node.cli import cli

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _walk(command: click.Command, ctx: click.Context, out: list[str]) -> None:
    out += [f"## {ctx.command_path}", "", "```", command.get_help(ctx), "```", ""]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            sub = command.commands[name]
            _walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True), out)


def cli_markdown() -> str:
    out = ["# tongban commands", "",
           "Generated from `--help` by `python -m ops.gendocs`; do not edit.", ""]
    ctx = cli.make_context("tongban", [], resilient_parsing=True, terminal_width=100,
                           max_content_width=100)
    _walk(cli, ctx, out)
    return "\n".join(out)


def generated() -> dict[Path, str]:
    return {DOCS / "config.md": config_schema.markdown(), DOCS / "cli.md": cli_markdown(),
            DOCS / "catalogue.md": catalogue_schema.markdown()}


def main() -> None:
    for path, text in generated().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
