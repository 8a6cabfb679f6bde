"""Licence figures: issue rate, verify rate (file and QR), QR payload and file bytes.

Run: .venv/bin/python -m bench.bench_licence  (writes bench/results/licence.txt)
The county is enrolled under a region and the root with the real commands;
issuing goes through the domain (seal, COSE, log append, checkpoint signing),
verification through the same code `licence verify` runs.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import segno

from bench.common import load_now, write_results
from bench.workload import Workload
from node import licences, staff
from node.cases import act, apply
from node.home import Home
from node.licence_export import export as export_files
from node.licence_format import from_qr_text, qr_text
from node.licence_verify import verify_file, verify_qr
from node.store import NodeStore
from node.workdays import date_of_ms
from ops.localfed import Federation, tongban
from pki.certs import load_cert
from protos.tongban.v1 import record_pb2

COUNT = 200
COUNTY = "540102"
CLERK, APPROVER = "5401020001", "5401020002"
WORKLOAD_LICENCE = ("200 cases of matter 540102-QR-001 (户口迁入), applicants' names and ID "
                    "numbers from bench.workload (varied Tibetan and Han names, valid IDs)")
MATERIALS = ["居民户口簿", "居民身份证",
             "落户依据材料（劳动合同、录取通知书、不动产权证书或亲属关系证明）"]


def main() -> None:
    load = load_now()
    with tempfile.TemporaryDirectory() as tmp:
        fed = Federation(Path(tmp))
        fed.add("000000")
        fed.add("540000", "000000")
        home = fed.add(COUNTY, "540000").home
        tongban("matter", "import", "--sample", home=home)
        tongban("seal", "create", "--body-uscc", "11540102015712342L", "--name",
                "拉萨市公安局城关分局", home=home)
        store = NodeStore.open(Home(home))
        staff.add(store, CLERK, "次仁", ["clerk", "reviewer"])
        staff.add(store, APPROVER, "卓玛", ["approver"])  # who reviews may not also decide
        cases = []
        rng = random.Random(18)
        for _ in range(COUNT):
            case = apply(store, matter_code="540102-QR-001",
                         applicant=Workload.resident_id(rng, COUNTY),
                         applicant_name=Workload.name(rng, COUNTY), channel="window",
                         materials=MATERIALS, actor=CLERK).case.case_no
            for action, extra in (("accept", {}), ("review", {}), ("decide", {"approve": True}),
                                  ("conclude", {})):
                actor = APPROVER if action in ("decide", "conclude") else CLERK
                act(store, case, action, actor=actor, **extra)
            cases.append(case)
        start = time.perf_counter()
        ids = [licences.issue(store, case).licence_id for case in cases]
        issue_s = time.perf_counter() - start
        files = []
        for n, licence_id in enumerate(ids):
            out = Path(tmp) / f"licence-{n}.json"
            export_files(store, licence_id, out, Path(tmp) / f"qr-{n}.png", False, None)
            files.append(out.read_bytes())
        root = load_cert(store.home.root_cert_path.read_bytes())
        now, today = datetime.now(UTC), date_of_ms(int(time.time() * 1000))
        start = time.perf_counter()
        for data in files:
            assert verify_file(data, root, now, today).ok
        file_s = time.perf_counter() - start
        records = [store.log.record(COUNTY, licences.show(store.db, i)["seq"]) for i in ids]
        seals = [record_pb2.Licence.FromString(record_pb2.Record.FromString(r).body).sealed
                 for r in records]
        texts = [qr_text(sealed) for sealed in seals]
        start = time.perf_counter()
        for text in texts:
            assert verify_qr(store, from_qr_text(text), now, today).ok
        qr_s = time.perf_counter() - start
        longest = max(range(COUNT), key=lambda i: len(texts[i]))
        text, sealed, record = texts[longest], seals[longest], records[longest]
        code = segno.make(text, error="m")
        lines = [
            f"licences issued: {COUNT} (one write each: seal + log append + checkpoint)",
            f"issue rate: {COUNT / issue_s:.0f} licences/s",
            f"verify rate, file with only the root: {COUNT / file_s:.0f} /s",
            f"verify rate, QR payload at the node: {COUNT / qr_s:.0f} /s",
            f"COSE_Sign1 bytes: {len(sealed)}; licence record bytes: {len(record)} (of the "
            f"licence with the longest QR text; medians of the {COUNT}: "
            f"{statistics.median(len(s) for s in seals):.0f} and "
            f"{statistics.median(len(r) for r in records):.0f})",
            f"QR payload (the longest): {len(text)} characters (base45 of zlib; median "
            f"{statistics.median(len(t) for t in texts):.0f}); QR version {code.version}-M, "
            f"{code.symbol_size(border=0)[0]} modules: at 4 cm on an A4 print one module is "
            f"{40 / code.symbol_size(border=0)[0]:.2f} mm (phone cameras read 0.3 mm and up)",
            f"licence file bytes: median {statistics.median(len(f) for f in files):,.0f} (JSON: "
            f"seal chain + log proof, no receipts yet; each of the {COUNT} files verified once)",
        ]
    write_results("licence", ".venv/bin/python -m bench.bench_licence", lines,
                  workload=WORKLOAD_LICENCE, load_before=load)


if __name__ == "__main__":
    main()
