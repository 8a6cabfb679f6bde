"""Running the link to the parent: one exchange, or a loop that never gives up.

The loop retries with tenacity's capped exponential backoff with jitter; its
sleeps wait on the stop event, so SIGTERM ends the node between batches rather
than after a five-minute backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cryptography.x509.oid import NameOID
from tenacity import Retrying, retry_if_exception_type, wait_exponential_jitter

from node import linkstate
from node.store import NodeStore
from node.wiring import identity
from pki.division import validate
from pki.errors import EnvironmentProblem, Error
from sync.pacer import Pacer
from sync.replica import Replica
from sync.uplink import ExchangeReport, LinkDown, LinkRefused, Uplink

IDLE_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 300.0


def parent_division(replica: Replica) -> str:
    """The issuer of our certificate is our parent (the nearest enrolled ancestor)."""
    own = replica.chain[0]
    if own.issuer == own.subject:
        raise EnvironmentProblem("this is the national root node: it has no parent")
    names = own.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return validate(str(names[0].value))


def make_uplink(store: NodeStore, replica: Replica, progress: Callable[[str], None] | None = None
                ) -> Uplink:
    address = store.config.parent_address
    if not address:
        raise EnvironmentProblem(
            "no parent address: set parent_address in tongban.toml or init --parent-address")
    # Start from the rate the last exchange measured: a cold start at the pacer's small
    # first batch would spend several round trips finding the link again.
    pacer = Pacer(throughput=linkstate.load(store.db).throughput_bps,
                  deadline_scale=store.config.deadline_scale)
    return Uplink(replica, identity(store.home), address, parent_division(replica),
                  pacer=pacer, progress=progress)


def record_attempt(store: NodeStore, uplink: Uplink, report: ExchangeReport | None,
                   error: Error | None) -> None:
    state = linkstate.load(store.db)
    now = int(time.time() * 1000)
    state.parent = uplink.parent_division
    state.address = uplink.address
    state.last_attempt_ms = now
    if error is None and report is not None:
        state.state = "up"
        state.last_success_ms = now
        state.last_error = ""
        state.throughput_bps = uplink.pacer.throughput
        state.bytes_sent = report.bytes_sent
        state.bytes_received = report.bytes_received
    else:
        state.state = "refused" if isinstance(error, LinkRefused) else "down"
        state.last_error = error.diagnostics() if error else ""
    with uplink.replica.lock, store.transaction():
        linkstate.save(store.db, state)


def exchange_once(store: NodeStore, uplink: Uplink) -> ExchangeReport:
    try:
        report = uplink.exchange()
    except Error as exc:
        record_attempt(store, uplink, None, exc)
        raise
    record_attempt(store, uplink, report, None)
    return report


def run_forever(store: NodeStore, replica: Replica, stop: threading.Event,
                log: Callable[[str], None]) -> None:
    """Exchange with the parent until ``stop`` is set; never gives up on a broken link."""
    uplink = make_uplink(store, replica)
    uplink.should_stop = stop.is_set
    retrying = Retrying(
        retry=retry_if_exception_type((LinkDown, LinkRefused)),
        wait=wait_exponential_jitter(initial=1, max=MAX_BACKOFF_SECONDS),
        sleep=stop.wait,
        before_sleep=lambda rs: log(f"link down ({rs.outcome.exception()}); retrying in "
                                    f"{rs.next_action.sleep:.0f}s"),
        reraise=True,
    )
    while not stop.is_set():
        resume = False
        try:
            for attempt in retrying:
                with attempt:
                    if stop.is_set():
                        break
                    resume = _exchange(store, uplink, log)
        except Error as exc:
            log(f"exchange failed: {exc.diagnostics()}")
        if not resume:
            stop.wait(IDLE_SECONDS)
    uplink.close()


def _exchange(store: NodeStore, uplink: Uplink, log: Callable[[str], None]) -> bool:
    """One exchange; True when the link dropped after making progress.

    Progress means the link works: resume at once with the backoff reset,
    instead of letting frequent drops on a busy link push the wait toward
    the five-minute cap.
    """
    try:
        report = exchange_once(store, uplink)
    except LinkDown as exc:
        done = exc.report
        moved = sum(done.pushed.values()) + sum(done.pulled.values()) if done else 0
        if not moved:
            raise
        log(f"link dropped after moving {moved} records; resuming")
        return True
    if report.pushed or report.pulled:
        log(f"synced: pushed {sum(report.pushed.values())}, pulled "
            f"{sum(report.pulled.values())} records")
    return False
