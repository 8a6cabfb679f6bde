"""``tongban seal``: electronic seals (电子印章) of the implementing bodies of this division."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from node import seals
from node.cli.common import (
    echo,
    emit_json,
    format_ms,
    home_option,
    json_option,
    resolve_home,
    table,
)
from node.store import NodeStore
from pki.errors import EnvironmentProblem


@click.group("seal")
def seal_group() -> None:
    """Seals (电子印章): create, list, revoke. Seal keys stay on this node (0600)."""


@seal_group.command("create")
@click.option("--body-uscc", required=True, help="The implementing body's USCC (GB 32100).")
@click.option("--name", required=True, help="The body's name as it appears on the seal.")
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path),
              help="PNG image of the seal for printing (optional).")
@json_option
@home_option
def create(body_uscc: str, name: str, image: Path | None, as_json: bool,
           home_dir: str | None) -> None:
    """Make a body's seal: key under seals/ (0600), certificate issued by this node.

    \b
    Example:
      tongban seal create --body-uscc 11540102015712342L --name 拉萨市公安局城关分局
    """
    try:
        picture = image.read_bytes() if image else b""
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {image}: {exc.strerror}") from exc
    seal = seals.create(NodeStore.open(resolve_home(home_dir)), body_uscc, name, picture)
    if as_json:
        emit_json(asdict(seal))
        return
    echo(f"seal of {seal.name} ({seal.uscc}) serial {seal.serial_hex} valid until "
               f"{format_ms(seal.not_after_ms)}")


@seal_group.command("list")
@json_option
@home_option
def list_(as_json: bool, home_dir: str | None) -> None:
    """Seals this node made.

    \b
    Example:
      tongban seal list --json
    """
    found = seals.list_seals(NodeStore.open(resolve_home(home_dir)))
    if as_json:
        emit_json([asdict(s) for s in found])
        return
    echo(table(["USCC", "body", "serial", "valid until", "status"],
                     [(s.uscc, s.name, s.serial_hex, format_ms(s.not_after_ms),
                       "revoked" if s.revoked else "active") for s in found]))


@seal_group.command("revoke")
@click.option("--body-uscc", required=True)
@click.option("--reason", required=True,
              help="RFC 5280 reason: keyCompromise, superseded, cessationOfOperation, …")
@json_option
@home_option
def revoke(body_uscc: str, reason: str, as_json: bool, home_dir: str | None) -> None:
    """Revoke a body's seal (a CERT_REVOKED record; relayed to every node).

    \b
    Example:
      tongban seal revoke --body-uscc 11540102015712342L --reason superseded
    """
    seal = seals.revoke(NodeStore.open(resolve_home(home_dir)), body_uscc, reason)
    if as_json:
        emit_json({**asdict(seal), "reason": reason})
        return
    echo(f"revoked seal {seal.serial_hex} of {seal.name} ({seal.uscc})")
