"""Prometheus metrics for ``serve`` on a local HTTP address (``[ops] metrics_address``).

Everything that lives in the database (outbox, link state, problems,
certificate expiry, cases, backups) is read at scrape time through a
connection of its own, so a scrape sees what ``status`` would print and never
waits on the replication lock. What only the running process sees (each
exchange's duration and wire bytes) is counted in process. Names follow the
Prometheus conventions: ``tongban_`` prefix, ``_total`` for counters, base
units ``_seconds`` and ``_bytes``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from node import observe
from node.db import connect
from node.home import Home
from node.store import NodeStore
from sync.uplink import ExchangeReport

LINK_STATES = ("up", "down", "refused", "never tried")


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class NodeCollector(Collector):
    """Reads the node's facts (node.observe) from its database at every scrape."""

    def __init__(self, home: Home) -> None:
        self.home = home

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store = NodeStore(self.home, self.home.load_config(), connect(self.home.db_path))
        try:
            facts = observe.collect(store)
        finally:
            store.close()
        now = time.time()
        link = facts.status.link
        yield from self._outbox(facts)
        state = _gauge("tongban_link_state", "1 for the uplink's current state.", ["state"])
        for name in LINK_STATES:
            state.add_metric([name], 1.0 if link.state == name else 0.0)
        yield state
        up = _gauge("tongban_link_up", "1 while the last exchange with the parent succeeded.")
        up.add_metric([], 1.0 if link.state == "up" else 0.0)
        yield up
        for name, doc, ms in (
                ("tongban_seconds_since_last_success", "Since the last completed exchange.",
                 link.last_success_ms),
                ("tongban_seconds_since_last_receipt", "Since the parent's newest receipt for "
                 "this node's log.", facts.status.newest_receipt_ms)):
            if ms is not None:
                g = _gauge(name, doc)
                g.add_metric([], now - ms / 1000)
                yield g
        wire = _gauge("tongban_link_wire_bytes_per_second",
                      "Measured link rate in compressed (wire) bytes.")
        wire.add_metric([], link.wire_bps)
        yield wire
        if link.clock_offset_ms is not None:
            g = _gauge("tongban_clock_offset_seconds", "Parent's clock minus ours, from the "
                       "time in its Hello answer (within half the round trip).")
            g.add_metric([], link.clock_offset_ms / 1000)
            yield g
        stored = _gauge("tongban_records_stored", "Records held, per origin log.", ["origin"])
        for origin, size in sorted(facts.records_by_origin.items()):
            stored.add_metric([origin], size)
        yield stored
        problems = _gauge("tongban_problems", "Refused or unexplained input kept as "
                          "evidence, by kind.", ["kind"])
        for kind, count in facts.problems.items():
            problems.add_metric([kind], count)
        yield problems
        expiry = _gauge("tongban_certificate_expiry_seconds", "Seconds until a certificate "
                        "expires (negative: expired).", ["division", "role"])
        for cert in facts.certs:
            expiry.add_metric([cert.division, cert.role], cert.seconds_left)
        yield expiry
        cases = _gauge("tongban_open_cases", "Cases whose clock runs, by light.", ["light"])
        for light, count in facts.open_cases.items():
            cases.add_metric([light], count)
        yield cases
        if facts.backup_age_seconds is not None:
            g = _gauge("tongban_backup_age_seconds", "Age of the newest `db backup`.")
            g.add_metric([], facts.backup_age_seconds)
            yield g

    def _outbox(self, facts: observe.Facts) -> Iterator[GaugeMetricFamily]:
        records = _gauge("tongban_outbox_records", "Records the parent has not receipted.",
                         ["origin"])
        nbytes = _gauge("tongban_outbox_bytes", "Payload bytes of those records.", ["origin"])
        for lag in facts.status.outbox:
            records.add_metric([lag.origin], lag.waiting_records)
            nbytes.add_metric([lag.origin], lag.waiting_bytes)
        yield records
        yield nbytes


class Metrics:
    """The registry of one ``serve`` process."""

    def __init__(self, home: Home) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(NodeCollector(home))
        self.exchange_seconds = Histogram(
            "tongban_exchange_duration_seconds", "Duration of completed exchanges with the "
            "parent.", buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=self.registry)
        self.wire_bytes = Counter("tongban_wire_bytes", "Compressed bytes carried by "
                                  "exchanges with the parent.", ["direction"],
                                  registry=self.registry)
        self.exchanges = Counter("tongban_exchanges", "Exchange attempts with the parent, by "
                                 "outcome.", ["outcome"], registry=self.registry)

    def observe(self, outcome: str, report: ExchangeReport | None) -> None:
        self.exchanges.labels(outcome).inc()
        if report is not None:
            self.exchange_seconds.observe(report.seconds)
            self.wire_bytes.labels("sent").inc(report.wire_bytes_sent)
            self.wire_bytes.labels("received").inc(report.wire_bytes_received)

    def serve(self, address: str):
        """Start the /metrics endpoint; returns the server (``shutdown()`` stops it)."""
        host, _, port = address.rpartition(":")
        server, _thread = start_http_server(int(port), host, registry=self.registry)
        return server
