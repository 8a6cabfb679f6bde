"""Node store: case events with their projection on a file database, and rebuild.

Targets (issue 2): batched >= 20,000 events/s; durable single-command commits
>= 300/s; db rebuild >= 50,000 records/s.

Run: .venv/bin/python -m bench.bench_node
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import write_results
from node.catalogue_file import load_file, sample_catalogue_path
from node.db import connect
from node.home import Config, Home
from node.matters import current_matter, list_matters, publish
from node.store import Draft, NodeStore, migrate
from pki.keys import generate_key, save_private_key
from protos.tongban.v1 import record_pb2

APPLICANT = "540102199001010011"


def _node(root: Path) -> NodeStore:
    home = Home(root / "home")
    home.path.mkdir()
    save_private_key(generate_key(), home.key_path)
    db = connect(home.db_path, create=True)
    migrate(db)
    db.close()
    home.save_config(Config(division="540102", name="bench"))
    store = NodeStore.open(home)
    publish(store, load_file(sample_catalogue_path()))
    return store


def _apply_draft(matter: record_pb2.Matter) -> Draft:
    def body(seq: int, hlc: int) -> bytes:
        return record_pb2.CaseEvent(
            case_no=f"540102-2026-{seq:07d}", action="apply", actor="bench",
            matter_code=matter.impl_code, matter_version=matter.version,
            applicant_id=APPLICANT, applicant_name="扎西", channel="window",
            materials=[m.name for m in matter.materials if m.required],
            limit_days=matter.promised_limit_days,
        ).SerializeToString()

    return Draft(record_pb2.CASE_EVENT, body)


def _accept_draft(case_no: str) -> Draft:
    data = record_pb2.CaseEvent(case_no=case_no, action="accept", actor="bench"
                                ).SerializeToString()
    return Draft(record_pb2.CASE_EVENT, lambda _s, _h: data)


def _first_matter(store: NodeStore) -> record_pb2.Matter:
    return current_matter(store.db, list_matters(store.db)[0]["code"])


def batched(store: NodeStore, cases: int, batch: int) -> float:
    matter = _first_matter(store)
    start = time.perf_counter()
    numbers: list[str] = []
    for _ in range(0, cases, batch):
        base = store.log.size(store.division)
        store.write([_apply_draft(matter) for _ in range(batch)])
        numbers += [f"540102-2026-{base + i:07d}" for i in range(batch)]
    for i in range(0, len(numbers), batch):
        store.write([_accept_draft(n) for n in numbers[i:i + batch]])
    return 2 * cases / (time.perf_counter() - start)


def single(store: NodeStore, count: int) -> float:
    matter = _first_matter(store)
    start = time.perf_counter()
    for _ in range(count):
        store.write([_apply_draft(matter)])
    return count / (time.perf_counter() - start)


def rebuild(store: NodeStore) -> tuple[int, float]:
    start = time.perf_counter()
    count = store.rebuild()
    return count, count / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        store = _node(Path(tmp))
        batched_rate = batched(store, 50_000, 1000)
        single_rate = single(store, 1000)
        count, rebuild_rate = rebuild(store)
        store.close()
    write_results("node", ".venv/bin/python -m bench.bench_node", [
        "batched case events (1000/txn, apply+accept, with projection): "
        f"{batched_rate:,.0f} events/s (target >= 20,000)",
        f"durable single-event commits (fsync each, checkpoint signed each): {single_rate:,.0f}/s"
        " (target >= 300)",
        f"db rebuild of {count:,} records: {rebuild_rate:,.0f} records/s (target >= 50,000)",
    ])


if __name__ == "__main__":
    main()
