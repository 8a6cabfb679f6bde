"""``tongban bundle``: sync by file when there is no link (node.bundle_files)."""

from __future__ import annotations

from pathlib import Path

import click

from node import bundle_files
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home


def _stderr(line: str) -> None:
    echo(line, err=True)


@click.group("bundle")
def bundle_group() -> None:
    """Carry a link's traffic in a file when there is no link."""


@bundle_group.command("export")
@click.option("--for-parent", is_flag=True, required=True,
              help="Everything the parent lacks according to its newest receipts.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Bundle file.")
@json_option
@home_option
def export_cmd(for_parent: bool, out: str, as_json: bool, home_dir: str | None) -> None:
    """Write a signed bundle for the parent: own and subtree records, chain, pending CSR.

    \b
    Example:
      tongban bundle export --for-parent --out /media/usb/540102-up.tbb
    """
    made = bundle_files.export_for_parent(resolve_home(home_dir), Path(out))
    if as_json:
        emit_json({"out": out, "peer": made.peer, "records": made.records,
                   "batches": made.batches, "bytes": made.size})
        return
    echo(f"wrote {out} for {made.peer}: {made.records} records in "
               f"{made.batches} batches, {made.size} bytes")


@bundle_group.command("import")
@click.argument("bundle_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--reply", type=click.Path(dir_okay=False), default=None,
              help="At the parent: write the reply bundle (receipts, records flowing down).")
@json_option
@home_option
def import_cmd(bundle_file: str, reply: str | None, as_json: bool, home_dir: str | None) -> None:
    """Verify and store a bundle from a child (or the parent's reply).

    Nothing is stored from a bundle whose signature or framing does not check;
    importing the same or an older bundle again changes nothing.

    \b
    Example:
      tongban bundle import /media/usb/540102-up.tbb --reply /media/usb/540102-down.tbb
      tongban bundle import /media/usb/540102-down.tbb
    """
    done = bundle_files.import_file(resolve_home(home_dir), Path(bundle_file),
                                    Path(reply) if reply else None, _stderr)
    if as_json:
        emit_json({"file": bundle_file, "sender": done.sender, "new_records": done.new_records,
                   "receipts": done.receipts, "saved_requests": [str(p) for p in
                                                                 done.saved_requests],
                   "reply": None if done.reply is None else {
                       "file": reply, "receipts": done.reply.receipts,
                       "records": done.reply.records, "bytes": done.reply.size}})
        return
    echo(f"imported {bundle_file} from {done.sender}: {done.new_records} new records, "
               f"{done.receipts} receipts")
    for path in done.saved_requests:
        echo(f"certificate request saved: {path} (tongban pki issue {path} --out …)")
    if done.reply is not None:
        echo(f"wrote reply {reply} for {done.sender}: {done.reply.receipts} receipts, "
                   f"{done.reply.records} records, {done.reply.size} bytes")
    elif reply and not done.from_child:
        _stderr(f"--reply ignored: {bundle_file} came from the parent {done.sender}; only a "
                "child's bundle gets a reply")
