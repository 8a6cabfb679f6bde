"""``tongban crossregion``: the 跨省通办 list (publish at the national node, list anywhere)."""

from __future__ import annotations

from pathlib import Path

import click

from node import crossregion
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home, table
from node.store import NodeStore


@click.group("crossregion")
def crossregion_group() -> None:
    """The 跨省通办 list: matters any node may take for the divisions implementing them."""


@crossregion_group.command("publish")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@home_option
def publish(file: Path, as_json: bool, home_dir: str | None) -> None:
    """Publish a new version of the list (national node 000000 only); it flows down.

    FILE is TOML: `version = N` and [[items]] with base_code, name, [[items.implementers]]
    (division, impl_code, promised_limit_days, materials) and, for 多地联办, [[items.steps]]
    (name, side = "receiver" or "partner").

    \b
    Example:
      tongban crossregion publish ops/data/crossregion_list.toml
    """
    store = NodeStore.open(resolve_home(home_dir))
    version = crossregion.publish_list(store, crossregion.load_list_file(file))
    if as_json:
        emit_json({"version": version})
        return
    echo(f"跨省通办 list version {version} published; it goes down with the next sync")


@crossregion_group.command("list")
@json_option
@home_option
def list_(as_json: bool, home_dir: str | None) -> None:
    """The newest list this node holds: one line per item and implementing division.

    A window takes an application for any entry, for the division handling it
    (异地代收代办), with the materials the entry names.

    \b
    Example:
      tongban crossregion list --json
      tongban case apply --matter GG00101000 --handled-by 650102 --actor 窗口03 \\
        --applicant 540102199001011233 --name 扎西 --material 居民身份证 \\
        --material 近期免冠照片 --material 居住证明（房屋租赁合同或不动产权证书）
    """
    rows = crossregion.list_rows(NodeStore.open(resolve_home(home_dir)).db)
    if as_json:
        emit_json(rows)
        return
    echo(table(["version", "base code", "name", "handled by", "impl code", "limit", "steps"],
               [(r["version"], r["base_code"], r["name"], r["division"], r["impl_code"],
                 r["promised_limit_days"], " → ".join(r["steps"]) or "-") for r in rows]))
    echo(f"{len(rows)} entries" if rows else "no 跨省通办 list held yet")
