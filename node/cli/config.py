"""``tongban config check`` and ``config show``: the node config against its schema."""

from __future__ import annotations

import click

from node.cli.common import echo, emit_json, home_option, json_option, resolve_home


@click.group("config")
def config_group() -> None:
    """Check and show tongban.toml (every key: docs/config.md).

    \b
    Example:
      tongban config check
    """


@config_group.command()
@json_option
@home_option
def check(as_json: bool, home_dir: str | None) -> None:
    """Load tongban.toml as serve would; refuses unknown keys with a suggestion.

    Exit 0 when it loads, 1 when it has problems (listed in one error line).

    \b
    Example:
      tongban config check --home /var/lib/tongban
    """
    home = resolve_home(home_dir)
    home.load_config()
    if as_json:
        emit_json({"config": str(home.config_path), "valid": True})
        return
    echo(f"{home.config_path}: valid")


@config_group.command()
@click.option("--defaults", is_flag=True, help="Every key, defaults included.")
@json_option
@home_option
def show(defaults: bool, as_json: bool, home_dir: str | None) -> None:
    """Print the config in effect (only keys set, unless --defaults).

    \b
    Example:
      tongban config show --defaults
    """
    config = resolve_home(home_dir).load_config()
    if as_json:
        emit_json(config.to_dict(defaults=defaults))
    else:
        echo(config.to_toml(defaults=defaults), nl=False)
