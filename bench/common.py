"""Shared by the benchmarks: where results go and the header every results file has.

Every results file names the workload it ran on and the machine load before
and after (os.getloadavg): the machine is shared, and a figure measured under
a load of 4 on 2 cores is not the figure of an idle one.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from node.cli import cli

RESULTS = Path(__file__).resolve().parent / "results"


def load_now() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def write_results(name: str, command: str, lines: list[str], *, workload: str,
                  load_before: str) -> Path:
    header = [
        f"# {name}",
        f"date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {sys.version.split()[0]}",
        f"load average (1/5/15 min): before {load_before}, after {load_now()}",
        f"workload: {workload}",
        f"command: {command}",
        "",
    ]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.txt"
    path.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    print("\n".join(header + lines))
    return path


def in_process(*args: str, home: Path | None = None, check: bool = True,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """``ops.localfed.tongban`` without an interpreter per command, for bench set-up.

    Enrolling 40 nodes one subprocess per command costs minutes of the CPU the
    measurement needs; what is timed always runs as real processes.
    """
    argv = [*args, *(["--home", str(home)] if home is not None else [])]
    result = CliRunner().invoke(cli, argv, env=env, prog_name="tongban")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if check and result.exit_code != 0:
        raise RuntimeError(f"tongban {' '.join(argv)} exited {result.exit_code}: "
                           f"{result.output}")
    return subprocess.CompletedProcess(["tongban", *argv], result.exit_code, result.stdout,
                                       result.stderr)


#: Runs argv[2:] and writes its peak RSS (KiB) and CPU seconds (user + system) to the file
#: argv[1]. A small process
#: in between: a child forked from the bench inherits the bench's peak RSS (Linux carries
#: the high-water mark across exec), a grandchild forked from this launcher does not.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(args: list[str], env: dict | None = None, ok: tuple[int, ...] = (0,),
                 outcome: list[str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one real ``tongban`` command in a subprocess;
    ``outcome`` receives "exit N" and the last line of stderr, for refusals."""
    seconds, peak, _cpu, out = run_measured_cpu(args, env, ok, outcome)
    return seconds, peak, out


def run_measured_cpu(args: list[str], env: dict | None = None, ok: tuple[int, ...] = (0,),
                     outcome: list[str] | None = None) -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS in MB, CPU seconds, stdout) of one real ``tongban`` command.

    On a shared machine the wall time includes waiting for a core; the CPU seconds
    are what the command itself costs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(peak_file), sys.executable, "-m", "node.cli",
             *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
        seconds = time.perf_counter() - started
        if outcome is not None:
            outcome.append(f"exit {done.returncode}")
            outcome.extend(done.stderr.strip().splitlines()[-1:])
        if done.returncode not in ok:
            raise RuntimeError(f"tongban {' '.join(args)} exited {done.returncode}: "
                               f"{done.stderr}")
        peak, cpu = peak_file.read_text().split()
        return seconds, int(peak) / 1024, float(cpu), done.stdout
