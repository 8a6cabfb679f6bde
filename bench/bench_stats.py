"""Statistics at the national node: ``tongban stats --subtree`` over 1,000,000 case events.

Target (issue 16): at most 3 s and at most 300 MB.

The national database is filled in-process: realistic case events of 70
counties (7 prefectures × 10) are built as records and stored through
``NodeStore.ingest`` — the path verified replication takes after its checks —
so the tables and indexes are the ones a real national node has. The mix per
case: most go 申请 → 受理 → 审查 → 决定 → 办结 → 送达; one in six has a 补正
and supply, one in twelve is refused, one in forty withdrawn; channels and
matters vary, applications spread over 2026, and one in three concluded cases
gets an evaluation (one in ten of those a 差评). The timed commands run as real
subprocesses, so the figures include Python start-up, as an operator sees it.

Run: .venv/bin/python -m bench.bench_stats
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import write_results
from node.catalogue_file import load_file, sample_catalogue_path
from node.db import connect
from node.home import Config, Home
from node.matters import current_matter, list_matters, publish
from node.store import NodeStore, migrate
from node.workdays import ms_of_date
from pki.keys import generate_key, save_private_key
from protos.tongban.v1 import record_pb2
from sync.records import build_record

TARGET_EVENTS = 1_000_000
COUNTIES = [f"54{p:02d}{c:02d}" for p in range(1, 8) for c in range(2, 12)]
CHANNELS = ("window", "window", "window", "online", "mobile", "self-service")
APPLICANT = "540102199001010011"
HOUR = 3_600_000


def _national(root: Path) -> tuple[Home, list[record_pb2.Matter]]:
    home = Home(root / "000000")
    home.path.mkdir()
    save_private_key(generate_key(), home.key_path)
    db = connect(home.db_path, create=True)
    migrate(db)
    db.close()
    home.save_config(Config(division="000000", name="国家节点"))
    store = NodeStore.open(home)
    publish(store, load_file(sample_catalogue_path()))
    matters = [current_matter(store.db, item["code"]) for item in list_matters(store.db)]
    store.close()
    return home, matters


def _case_events(county: str, number: int, matter: record_pb2.Matter,
                 rng: random.Random) -> list[tuple[int, bytes]]:
    """(time, CaseEvent bytes) for one case, in order."""
    case_no = f"{county}-2026-{number:07d}"
    day = date(2026, 1, 5) + timedelta(days=rng.randrange(320))
    t = ms_of_date(day) + 9 * HOUR + rng.randrange(8 * HOUR)
    out = []

    def event(hours: float, **fields) -> None:
        nonlocal t
        t += int(hours * HOUR)
        out.append((t, record_pb2.CaseEvent(case_no=case_no, actor="窗口01",
                                            **fields).SerializeToString()))

    event(0, action="apply", matter_code=matter.impl_code, matter_version=matter.version,
          applicant_id=APPLICANT, applicant_name="扎西", channel=rng.choice(CHANNELS),
          materials=[m.name for m in matter.materials if m.required],
          limit_days=matter.promised_limit_days)
    roll = rng.random()
    if roll < 1 / 12:
        event(2, action="reject", reason="不属于本机关职权范围")
        return out
    if roll < 1 / 12 + 1 / 40:
        event(5, action="withdraw", reason="申请人撤回")
        return out
    event(1, action="accept")
    if rng.random() < 1 / 6:
        event(24, action="request-supplement", materials=["补充材料"])
        event(24 * rng.randrange(1, 6), action="supply", materials=["补充材料"])
    event(24 * rng.randrange(1, 5), action="review")
    event(24 * rng.randrange(1, 8), action="decide", approve=True)
    event(24 * rng.randrange(0, 10), action="conclude")
    event(24, action="deliver", method="窗口领取")
    return out


def _evaluation(case_no: str, rng: random.Random) -> bytes:
    level = 1 if rng.random() < 0.1 else rng.choice((3, 4, 5, 5, 5))
    return record_pb2.Evaluation(case_no=case_no, level=level, evaluator_kind="applicant",
                                 channel="mobile", evaluator=APPLICANT).SerializeToString()


def fill(home: Home, matters: list[record_pb2.Matter], target: int) -> tuple[int, int]:
    """Ingest about ``target`` case events spread over the counties; returns (events, cases)."""
    rng = random.Random(16)
    store = NodeStore.open(home)
    per_county = target // len(COUNTIES)
    events = cases = 0
    for county in COUNTIES:
        timeline: list[tuple[int, int, bytes]] = []
        count = number = 0
        while count < per_county:
            number += 1
            case = _case_events(county, number, rng.choice(matters), rng)
            timeline += [(t, record_pb2.CASE_EVENT, body) for t, body in case]
            if len(case) >= 6 and rng.random() < 1 / 3:
                timeline.append((case[-1][0] + HOUR, record_pb2.EVALUATION,
                                 _evaluation(f"{county}-2026-{number:07d}", rng)))
            count += len(case)
        timeline.sort(key=lambda item: item[0])
        records = [build_record(county, seq, t << 16, kind, body, "")
                   for seq, (t, kind, body) in enumerate(timeline)]
        for first in range(0, len(records), 20_000):
            with store.transaction():
                store.ingest(county, first, records[first:first + 20_000])
        events += count
        cases += number
    store.close()
    return events, cases


def timed(*args: str) -> tuple[float, float, str]:
    """(seconds, peak MB of the child, stdout) for one real tongban command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "node.cli", *args], capture_output=True,
                          text=True, check=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise RuntimeError("peak RSS of the child was not measurable (an earlier child was larger)")
    return seconds, peak / 1024, done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        home, matters = _national(Path(tmp))
        start = time.perf_counter()
        events, cases = fill(home, matters, TARGET_EVENTS)
        fill_s = time.perf_counter() - start
        size_mb = home.db_path.stat().st_size / 2**20
        where = ["--home", str(home.path)]
        stats_s, stats_mb, out = timed("stats", "--subtree", "--json", *where)
        county_s, county_mb, _ = timed("stats", "--subtree", "--by", "county", "--json", *where)
        report_s, report_mb, _ = timed("report", "--subtree", "--out", f"{tmp}/r.html", *where)
    ok = stats_s <= 3 and stats_mb <= 300
    write_results("stats", ".venv/bin/python -m bench.bench_stats", [
        f"national node: {events:,} case events of {cases:,} cases from {len(COUNTIES)} counties"
        f" (+ evaluations), database {size_mb:,.0f} MB, filled in {fill_s:,.0f} s",
        f"tongban stats --subtree --json: {stats_s:.2f} s, peak {stats_mb:.0f} MB"
        f" (target <= 3 s, <= 300 MB: {'met' if ok else 'NOT met'})",
        f"tongban stats --subtree --by county --json: {county_s:.2f} s, peak {county_mb:.0f} MB",
        f"tongban report --subtree: {report_s:.2f} s, peak {report_mb:.0f} MB",
        f"applications counted by stats: {json.loads(out)['total']['applications']:,}",
    ])


if __name__ == "__main__":
    main()
