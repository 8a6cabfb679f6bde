"""Peak memory of ``bundle import`` and ``audit verify`` on gzip bombs (issue 12).

Each command runs as a child process; its peak resident set comes from
``resource.getrusage(RUSAGE_CHILDREN)`` in a parent of its own after it exits.
Bombs: zeros gzipped at level 9, a 4 MB file
(4 GiB unpacked; its trailer's size wraps to 0), a 510 KB file (500 MiB) whose
trailer says 1,000 bytes, a 4 MB file that declares the largest size allowed
(64 MiB, so it is inflated that far), and 64 MiB of zeros declared honestly
(inflated whole, then refused as not a bundle). Both must be refused with one line,
and every peak must stay under 300 MB.

    python -m bench.bench_hostile
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from bench.common import write_results
from ops.fedcheck import COUNTY, REGION, build_federation

LIMIT_MB = 300


def _bomb(unpacked: int, declared: int | None) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    parts, crc = [], 0
    for _ in range(unpacked >> 20):
        parts.append(deflate.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    body = b"".join(parts) + deflate.flush()
    size = (unpacked if declared is None else declared) & 0xFFFFFFFF
    header = gzip.compress(b"", mtime=0)[:10]
    return header + body + crc.to_bytes(4, "little") + size.to_bytes(4, "little")


#: Runs one command as its child and prints the child's peak RSS (KiB), so that every
#: measurement has a parent of its own (RUSAGE_CHILDREN keeps the largest child so far).
_MEASURE = ("import resource, subprocess, sys\n"
            "done = subprocess.run([sys.executable, '-m', 'node.cli', *sys.argv[1:]],"
            " stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)")


def _peak_mb(args: list[str]) -> tuple[float, int, str]:
    done = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True,
                          text=True)
    peak_kib, code = done.stdout.split()
    return int(peak_kib) / 1024, int(code), done.stderr.strip()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fed = build_federation(root / "fed")
        region, county = fed.nodes[REGION].home, fed.nodes[COUNTY].home
        bombs = {"4 MB bomb (4 GiB of zeros; ISIZE wraps to 0)": _bomb(4 << 30, None),
                 "510 KB bomb (500 MiB; declares 1,000 bytes)": _bomb(500 << 20, 1000),
                 "4 MB bomb (4 GiB; declares 64 MiB, the most allowed)":
                     _bomb(4 << 30, 64 << 20),
                 "65 KB (64 MiB of zeros, declared honestly)": _bomb(64 << 20, None)}
        lines, worst = [], 0.0
        for name, data in bombs.items():
            path = root / "bomb.tbb"
            path.write_bytes(data)
            for command in (["bundle", "import", str(path), "--home", str(region)],
                            ["audit", "verify", str(path), "--root",
                             str(county / "root.crt")]):
                peak, code, err = _peak_mb(command)
                worst = max(worst, peak)
                lines.append(f"{name}, {len(data):,} bytes: tongban {command[0]} {command[1]}: "
                             f"peak RSS {peak:.0f} MB, exit {code}, {err}")
        lines.append(f"worst peak {worst:.0f} MB (limit {LIMIT_MB} MB)")
    write_results("hostile", "python -m bench.bench_hostile", lines)
    if worst > LIMIT_MB:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
