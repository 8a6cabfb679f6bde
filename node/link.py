"""Running the link to the parent: one exchange, or a loop that never gives up.

The loop retries with tenacity's capped exponential backoff with jitter; its
sleeps wait on the stop event, so SIGTERM ends the node between batches rather
than after a five-minute backoff. Every attempt is recorded (node.linkstate)
and reported to ``on_attempt``, which is how gRPC health and the watchdog learn
whether the uplink works. A link that stays down logs one warning, not one
per retry: identical lines collapse (node.logs.Collapse) and the retry delay
goes to the debug level.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cryptography.x509.oid import NameOID
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from node import linkstate, log_guard
from node.config_schema import parse_address
from node.store import NodeStore
from node.wiring import identity
from pki.division import is_ancestor, validate
from pki.errors import EnvironmentProblem, Error, InputError
from sync.pacer import Pacer
from sync.replica import Replica
from sync.uplink import ExchangeReport, LinkDown, LinkRefused, Uplink

log = logging.getLogger("tongban.link")

#: told of every attempt: the recorded link state and, when it completed, the report
AttemptHook = Callable[[linkstate.LinkState, ExchangeReport | None], None]


def parent_division(replica: Replica) -> str:
    """The issuer of our certificate is our parent (the nearest enrolled ancestor)."""
    own = replica.chain[0]
    if own.issuer == own.subject:
        raise EnvironmentProblem("this is the national root node: it has no parent")
    names = own.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return validate(str(names[0].value))


def make_uplink(store: NodeStore, replica: Replica, progress: Callable[[str], None] | None = None,
                server_division: str | None = None) -> Uplink:
    """The uplink to parent_address; ``server_division`` names a higher ancestor listening
    there instead of the parent (recovery when the parent is gone too)."""
    config = store.config
    if not config.parent_address:
        raise EnvironmentProblem(
            "no parent address: set parent_address in tongban.toml or init --parent-address")
    # Start from the rate the last exchange measured: a cold start at the pacer's small
    # first batch would spend several round trips finding the link again.
    pacer = Pacer(throughput=linkstate.load(store.db).throughput_bps,
                  deadline_scale=config.deadline_scale, max_batch_bytes=config.max_batch_bytes)
    return Uplink(replica, identity(store.home), config.parent_address,
                  server_division or parent_division(replica), pacer=pacer, progress=progress,
                  keepalive_ms=int(config.keepalive_seconds * 1000))


def child_uplink(store: NodeStore, replica: Replica, child: str, address: str,
                 progress: Callable[[str], None] | None = None) -> Uplink:
    """An uplink to the child ``child`` serving at ``address``, for ``recover_only(
    from_child=True)``: the national node has no parent to ask for its own log, and a
    child holds it as an ancestor log. Its rate is not the parent link's: a cold pacer."""
    validate(child)
    parse_address(address, "--address")
    if not is_ancestor(store.division, child):
        raise InputError(f"{child} is not below {store.division}: only a child holds this "
                         "node's log as an ancestor log")
    config = store.config
    pacer = Pacer(deadline_scale=config.deadline_scale, max_batch_bytes=config.max_batch_bytes)
    return Uplink(replica, identity(store.home), address, child, pacer=pacer,
                  progress=progress, keepalive_ms=int(config.keepalive_seconds * 1000))


def record_attempt(store: NodeStore, uplink: Uplink, report: ExchangeReport | None,
                   error: Error | None) -> linkstate.LinkState:
    state = linkstate.load(store.db)
    now = int(time.time() * 1000)
    state.parent = uplink.parent_division
    state.address = uplink.address
    state.last_attempt_ms = now
    if error is None and report is not None:
        state.state = "up"
        state.last_success_ms = now
        state.last_error = ""
        state.failures = 0
        state.throughput_bps = uplink.pacer.throughput
        state.bytes_sent = report.bytes_sent
        state.bytes_received = report.bytes_received
        state.wire_bytes_sent = report.wire_bytes_sent
        state.wire_bytes_received = report.wire_bytes_received
        state.exchange_seconds = report.seconds
        if report.clock_offset_ms is not None:
            state.clock_offset_ms = report.clock_offset_ms
            state.clock_uncertainty_ms = report.clock_uncertainty_ms
        payload = report.bytes_sent + report.bytes_received
        if payload:
            ratio = (report.wire_bytes_sent + report.wire_bytes_received) / payload
            state.wire_bps = uplink.pacer.throughput * ratio
    else:
        state.state = "refused" if isinstance(error, LinkRefused) else "down"
        state.last_error = error.diagnostics() if error else ""
        state.failures += 1
    with uplink.replica.lock, store.transaction():
        linkstate.save(store.db, state)
    return state


def exchange_once(store: NodeStore, uplink: Uplink, on_attempt: AttemptHook | None = None
                  ) -> ExchangeReport:
    """One exchange; what the parent holds of our own log then holds or frees own writes."""
    try:
        report = uplink.exchange()
    except Error as exc:
        state = record_attempt(store, uplink, None, exc)
        if on_attempt:
            on_attempt(state, None)
        raise
    confirm_sizes(store, uplink.replica, report.parent_sizes)
    state = record_attempt(store, uplink, report, None)
    if on_attempt:
        on_attempt(state, report)
    return report


def confirm_sizes(store: NodeStore, replica: Replica, parent_sizes: dict[str, int]) -> None:
    """node.log_guard.confirm in its own transaction, once the recovery pulls are done."""
    with replica.lock, store.transaction():
        log_guard.confirm(store.db, store.division, parent_sizes)


def run_forever(store: NodeStore, uplink: Uplink, stop: threading.Event,
                on_attempt: AttemptHook | None = None,
                before_exchange: Callable[[], None] | None = None) -> None:
    """Exchange with the parent until ``stop`` is set; never gives up on a broken link.

    ``before_exchange`` runs before every attempt (serve swaps in a reloaded certificate).
    """
    config = store.config
    uplink.should_stop = stop.is_set
    retrying = Retrying(
        retry=retry_if_exception_type((LinkDown, LinkRefused)),
        wait=wait_exponential_jitter(initial=1, max=config.max_backoff_seconds),
        sleep=lambda seconds: _pause(stop, seconds),
        before_sleep=_before_retry,
        reraise=True,
    )
    while not stop.is_set():
        resume = False
        try:
            for attempt in retrying:
                with attempt:
                    if stop.is_set():
                        break
                    if before_exchange:
                        before_exchange()
                    resume = _exchange(store, uplink, on_attempt)
        except Error as exc:
            log.error("exchange failed: %s", exc.diagnostics())
        if not resume:
            stop.wait(config.interval_seconds)
    uplink.close()


def _pause(stop: threading.Event, seconds: float) -> None:
    """tenacity's sleep, cut short by SIGTERM."""
    stop.wait(seconds)


def _before_retry(retry_state: RetryCallState) -> None:
    # tenacity calls before_sleep only after a failed attempt, with the next sleep chosen
    if retry_state.outcome is None or retry_state.next_action is None:
        raise AssertionError("before_sleep called without an outcome or a next action")
    error = retry_state.outcome.exception()
    kind = "refused" if isinstance(error, LinkRefused) else "down"
    log.warning("link %s: %s", kind, error)
    log.debug("retrying in %.0fs", retry_state.next_action.sleep)


def _exchange(store: NodeStore, uplink: Uplink, on_attempt: AttemptHook | None) -> bool:
    """One exchange; True when the link dropped after making progress.

    Progress means the link works: resume at once with the backoff reset,
    instead of letting frequent drops on a busy link push the wait toward
    the five-minute cap.
    """
    try:
        report = exchange_once(store, uplink, on_attempt)
    except LinkDown as exc:
        done = exc.report
        moved = sum(done.pushed.values()) + sum(done.pulled.values()) if done else 0
        if not moved:
            raise
        log.info("link dropped after moving %d records; resuming", moved)
        return True
    if report.pushed or report.pulled:
        log.info("synced with %s: pushed %d, pulled %d records, %d wire bytes in %.1fs",
                 report.parent, sum(report.pushed.values()), sum(report.pulled.values()),
                 report.wire_bytes_sent + report.wire_bytes_received, report.seconds)
    return False
