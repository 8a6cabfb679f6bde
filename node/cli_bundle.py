"""``tongban bundle``: sync by file when there is no link (sneakernet).

The county exports what its parent lacks; the parent imports it (the same
checks as a network push) and writes a reply with its receipts and the
ancestors' records; the county imports the reply. Files are written to a
temporary name, fsynced and renamed, so a stick pulled out half-way leaves
no file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import click

from node import link
from node.cli_common import home_option, resolve_home
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from pki import certs
from pki.errors import EnvironmentProblem, InputError
from sync import bundle as bundles
from sync.replica import Replica


def _stderr(line: str) -> None:
    click.echo(line, err=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write bundle {path}: {exc.strerror or exc}") from exc


def _pending_csr(home: Home, replica: Replica) -> list[bytes]:
    """node.csr when its key is not the certified one (a rotation waiting for the parent)."""
    if not home.csr_path.exists():
        return []
    pem = home.csr_path.read_bytes()
    request = certs.load_csr(pem, str(home.csr_path))
    if certs.same_public_key(request.public_key(), replica.chain[0].public_key()):
        return []
    return [pem]


def _save_csrs(home: Home, sender: str, csrs: list[bytes]) -> list[Path]:
    """Keep a child's certificate requests for the operator to issue with ``pki issue``."""
    saved = []
    folder = home.path / "requests"
    for pem in csrs:
        request = certs.load_csr(pem, f"certificate request from {sender}")
        code = certs.csr_division(request)
        if code != sender:
            raise InputError(f"bundle from {sender} carries a certificate request for {code}: "
                             "a node may only ask for its own certificate")
        folder.mkdir(exist_ok=True)
        path = folder / f"{code}-{hashlib.sha256(pem).hexdigest()[:12]}.csr"
        path.write_bytes(pem)
        saved.append(path)
    return saved


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read bundle {path}: {exc.strerror or exc}") from exc


@click.group("bundle")
def bundle_group() -> None:
    """Carry a link's traffic in a file when there is no link."""


@bundle_group.command("export")
@click.option("--for-parent", is_flag=True, required=True,
              help="Everything the parent lacks according to its newest receipts.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Bundle file.")
@home_option
def export_cmd(for_parent: bool, out: str, home_dir: str | None) -> None:
    """Write a signed bundle for the parent: own and subtree records, chain, pending CSR.

    \b
    Example:
      tongban bundle export --for-parent --out /media/usb/540102-up.tbb
    """
    home = resolve_home(home_dir)
    store = NodeStore.open(home)
    replica = build(store)
    parent = link.parent_division(replica)
    made = bundles.export_for_parent(replica, parent, _pending_csr(home, replica))
    data = bundles.encode(made, replica)
    _write_atomic(Path(out), data)
    records = sum(len(b.records) for b in made.batches)
    click.echo(f"wrote {out} for {parent}: {records} records in "
               f"{sum(1 for b in made.batches if b.records)} batches, {len(data)} bytes")


@bundle_group.command("import")
@click.argument("bundle_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--reply", type=click.Path(dir_okay=False), default=None,
              help="At the parent: write the reply bundle (receipts, records flowing down).")
@home_option
def import_cmd(bundle_file: str, reply: str | None, home_dir: str | None) -> None:
    """Verify and store a bundle from a child (or the parent's reply).

    Nothing is stored from a bundle whose signature or framing does not check;
    importing the same or an older bundle again changes nothing.

    \b
    Example:
      tongban bundle import /media/usb/540102-up.tbb --reply /media/usb/540102-down.tbb
      tongban bundle import /media/usb/540102-down.tbb
    """
    home = resolve_home(home_dir)
    store = NodeStore.open(home)
    replica = build(store)
    done = bundles.import_bundle(replica, _read(bundle_file), f"bundle {bundle_file}", _stderr)
    click.echo(f"imported {bundle_file} from {done.sender}: {done.new_records} new records, "
               f"{len(done.receipts)} receipts")
    if done.from_child:
        for path in _save_csrs(home, done.sender, done.csrs):
            click.echo(f"certificate request saved: {path} (tongban pki issue {path} --out …)")
        if reply:
            made = bundles.reply_for_child(replica, done)
            data = bundles.encode(made, replica)
            _write_atomic(Path(reply), data)
            click.echo(f"wrote reply {reply} for {done.sender}: {len(made.receipts)} receipts, "
                       f"{sum(len(b.records) for b in made.batches)} records, {len(data)} bytes")
    elif reply:
        _stderr(f"--reply ignored: {bundle_file} came from the parent {done.sender}; only a "
                "child's bundle gets a reply")


__all__ = ["bundle_group"]
