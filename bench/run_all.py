"""``make bench``: every ``bench/bench_*.py`` with its default sizes, one after another.

Each runs in an interpreter of its own (``python -m bench.<name>``), as its
results header says it was run, so one bench's caches and imports never
colour another's figures; a new bench module is picked up without a list to edit.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import time
from pathlib import Path


def bench_modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)])
                  if m.name.startswith("bench_"))


def main() -> int:
    failed = []
    for name in bench_modules():
        print(f"== bench.{name}", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode
        print(f"== bench.{name}: exit {code} after {time.monotonic() - started:.0f}s",
              flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"error: benches failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
