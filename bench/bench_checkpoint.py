"""How fast a node signs and verifies checkpoints and receipts.

A parent verifies every child checkpoint it receives and cosigns it, so these
rates bound how many child pushes a region node can take per second. The
certificate chain is verified once per signer and cached, as a servicer would;
its cost is reported separately.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes

from bench.common import load_now, write_results
from pki import certs, keys
from pki.checkpoint import CheckpointSigner, make_receipt, verify_checkpoint, verify_receipt
from pki.verify import verify_chain

COMMAND = ".venv/bin/python -m bench.bench_checkpoint"
SECONDS = 1.5


def rate(fn: Callable[[int], object]) -> tuple[float, int]:
    """Calls per second of ``fn(i)`` over about SECONDS of wall time."""
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        fn(n)
        n += 1
    return n / elapsed, n


def main() -> None:
    load = load_now()
    now = datetime.now(UTC)
    root_key = keys.generate_key()
    root = certs.make_root(root_key, now, 3650)
    region_key = keys.generate_key()
    region = certs.issue(certs.make_csr(region_key, "540000"), root, root_key, now, 730)
    county_key = keys.generate_key()
    county = certs.issue(certs.make_csr(county_key, "540102"), region, region_key, now, 730)
    later = now + timedelta(hours=1)

    signer = CheckpointSigner(county_key, "540102")
    roots = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(64)]
    notes = [signer.sign(i + 1, roots[i], None, None) for i in range(64)]
    receipts = [make_receipt(n, region_key, "540000", later) for n in notes]

    def sign(i: int) -> bytes:
        k = i % 63
        return signer.sign(k + 2, roots[k + 1], (k + 1, roots[k]), roots[k])

    cache: dict[bytes, object] = {}

    def verify(i: int) -> object:
        fingerprint = county.fingerprint(hashes.SHA256())
        if fingerprint not in cache:
            cache[fingerprint] = verify_chain(county, [region], root, later)
        return verify_checkpoint(notes[i % 64], county)

    results = {
        "checkpoint sign (with fork guard)": rate(sign),
        "checkpoint verify (chain cached)": rate(verify),
        "certificate chain verify (3 levels)": rate(
            lambda i: verify_chain(county, [region], root, later)),
        "receipt make": rate(lambda i: make_receipt(notes[i % 64], region_key, "540000", later)),
        "receipt verify": rate(lambda i: verify_receipt(notes[i % 64], receipts[i % 64], region)),
    }
    lines = [f"{name:38} {per_s:9.0f} /s   ({n} calls)" for name, (per_s, n) in results.items()]
    lines.append(f"{'signed note size':38} {len(notes[-1]):9d} bytes")
    lines.append(f"{'receipt line size':38} {len(receipts[-1].to_bytes()):9d} bytes")
    write_results("checkpoint", COMMAND, lines, load_before=load,
                  workload="signing primitives alone (no records: the bytes signed do not vary)")


if __name__ == "__main__":
    main()
