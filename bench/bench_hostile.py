"""Peak memory of ``bundle import`` and ``audit verify`` on deflate bombs and on a real
bundle (issue 12).

Bundles are encrypted to their recipient and signed by their sender (pki.envelope),
so a bomb from a stranger is refused at the signature before a byte is decrypted.
The worst case is a bomb sealed by a genuine child with its own key, which is what
these are: zeros deflated at level 9 inside an encrypted bundle from the county to the
region, a 4 GiB one declared honestly (refused from the header), a 500 MiB one that
declares 1,000 bytes, a 4 GiB one that declares 64 MiB (the most allowed, so it is
decrypted and inflated that far), 64 MiB of zeros declared honestly (inflated whole,
then refused as not a Bundle), and 64 MiB of random bytes (a file as large as is
allowed, decrypted whole). Each is imported at the region and audited with the
region's key (``--home``) and without it. Then a real county bundle of EVENTS
events is exported, imported and audited (see WORKLOAD). Each command runs as a child
process and its peak resident set is read with wait4; every peak must stay under
300 MB.

    .venv/bin/python -m bench.bench_hostile
"""

from __future__ import annotations

import random
import tempfile
import zlib
from pathlib import Path

from bench.common import load_now, run_measured, write_results
from node.home import Home
from ops.fedcheck import COUNTY, REGION, add_events, build_federation
from pki import envelope

LIMIT_MB = 300
EVENTS = 20_000
#: bench.workload's generator cannot be written through a NodeStore under today's
#: authority rules (its applications are not numbered by seq, its actors are not staff,
#: one clerk reviews and decides), so the real bundle uses the tests' valid events; the
#: memory bound does not depend on them: the 64 MiB random bomb is a file and an
#: unpacked size as large as any bundle may be.
WORKLOAD = ("deflate bombs sealed by the county with its own key; real bundle: "
            "ops.fedcheck.add_events (synthetic, compresses ~14:1)")


def _deflated_zeros(unpacked: int) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    parts = [deflater.compress(chunk) for _ in range(unpacked >> 20)]
    return b"".join(parts) + deflater.flush()


def _sealed(county: Path, region: Path, packed: bytes, declared: int) -> bytes:
    """A bundle file from the county to the region, signed with the county's own key."""
    chain = Home(county).cert_chain()
    return envelope.seal_deflated(packed, declared, sender=COUNTY, recipient=REGION,
                                  recipient_cert=Home(region).cert_chain().cert,
                                  chain=[chain.cert, *chain.intermediates],
                                  signing_key=Home(county).signing_key(),
                                  created_ms=1_800_000_000_000)


def _bombs(county: Path, region: Path) -> dict[str, bytes]:
    four_gib = _deflated_zeros(4 << 30)
    stored = zlib.compressobj(0, zlib.DEFLATED, -15)
    noise = random.Random(1).randbytes(64 << 20)
    return {
        "4 GiB of zeros, declared honestly": _sealed(county, region, four_gib, 4 << 30),
        "500 MiB of zeros, declares 1,000 bytes":
            _sealed(county, region, _deflated_zeros(500 << 20), 1000),
        "4 GiB of zeros, declares 64 MiB (the most allowed)":
            _sealed(county, region, four_gib, 64 << 20),
        "64 MiB of zeros, declared honestly": _sealed(county, region,
                                                      _deflated_zeros(64 << 20), 64 << 20),
        "64 MiB of random bytes (the largest file allowed)":
            _sealed(county, region, stored.compress(noise) + stored.flush(), 64 << 20),
    }


def _commands(path: Path, region: Path) -> list[list[str]]:
    return [["bundle", "import", str(path), "--home", str(region)],
            ["audit", "verify", str(path), "--home", str(region)],
            ["audit", "verify", str(path), "--root", str(region / "root.crt")]]


def _label(command: list[str]) -> str:
    if command[0] == "audit":
        return "audit verify --home" if "--home" in command else "audit verify (no key)"
    return " ".join(command[:2])


def _measure(name: str, path: Path, region: Path, lines: list[str]) -> float:
    worst = 0.0
    for command in _commands(path, region):
        outcome: list[str] = []
        _, peak, out = run_measured(command, ok=(0, 1), outcome=outcome)
        worst = max(worst, peak)
        verdict = [x for x in out.splitlines() if x.startswith(("verified", "NOT verified"))]
        lines.append(f"{name}, {path.stat().st_size:,} bytes: tongban {_label(command)}: "
                     f"peak RSS {peak:.0f} MB, {', '.join(outcome + verdict[-1:])}")
    return worst


def main() -> None:
    load = load_now()
    lines: list[str] = []
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fed = build_federation(root / "fed")
        region, county = fed.nodes[REGION].home, fed.nodes[COUNTY].home
        path = root / "bomb.tbb"
        for name, data in _bombs(county, region).items():
            path.write_bytes(data)
            worst = max(worst, _measure(f"bomb: {name}", path, region, lines))
        add_events(county, EVENTS, per_write=500)
        real = root / "up.tbb"
        _, peak, _ = run_measured(["bundle", "export", "--for-parent", "--out", str(real),
                                   "--home", str(county)])
        lines.append(f"real bundle of {EVENTS:,} events, {real.stat().st_size:,} bytes: "
                     f"tongban bundle export: peak RSS {peak:.0f} MB")
        worst = max(worst, peak, _measure(f"real bundle of {EVENTS:,} events", real, region,
                                          lines))
    lines.append(f"worst peak {worst:.0f} MB (limit {LIMIT_MB} MB)")
    write_results("hostile", ".venv/bin/python -m bench.bench_hostile", lines,
                  workload=WORKLOAD, load_before=load)
    if worst > LIMIT_MB:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
