"""``tongban serve``: the Federation server for children, plus the link to the parent.

SIGTERM or SIGINT sets one stop event: the uplink finishes the batch in flight,
the server stops taking calls and gives running ones a grace period. SIGHUP
reloads the certificate (node.certwatch) instead of killing the process. The
main thread ticks once a second: it picks up new certificate files (unless
``[ops] watch_certificates`` is off), and under
systemd it sends the watchdog ping, so a wedged main loop gets the node
restarted. Metrics and HTTP health probes start when their addresses are set.
At the national node it also runs the licence status relay (node.licence_relay).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node import certwatch, children, link, linkstate, sdnotify
from node.health import UPLINK_SERVICE, HealthServer, set_uplink
from node.licence_relay import RelayWatch
from node.metrics import Metrics
from node.store import NodeStore
from node.wiring import build
from pki.errors import EnvironmentProblem
from sync.receive import Received
from sync.service import SERVICE_NAME, FederationService, add_to_server
from sync.tls import SERVER_OPTIONS
from sync.uplink import ExchangeReport

GRACE_SECONDS = 5.0
TICK_SECONDS = 1.0
EXPIRY_CHECK_SECONDS = 6 * 3600

log = logging.getLogger("tongban.serve")


def start_server(store: NodeStore, replica, address: str,
                 credentials: grpc.ServerCredentials | None = None,
                 relay: RelayWatch | None = None
                 ) -> tuple[grpc.Server, int, health.HealthServicer]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=SERVER_OPTIONS,
                         compression=grpc.Compression.Gzip)
    on_received = None
    if relay is not None:
        def on_received(got: Received) -> None:
            relay.after_push(got.origin, got.stored_size, got.new_records)
    service = FederationService(
        replica, on_contact=lambda division, sizes: children.record_contact(
            store, division, sizes), on_received=on_received)
    add_to_server(service, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    if credentials is None:
        credentials = certwatch.CertWatch(store, replica).server_credentials()
    port = server.add_secure_port(address, credentials)
    if port == 0:
        raise EnvironmentProblem(f"cannot listen on {address}: address in use or not local")
    server.start()
    return server, port, health_servicer


def serve(store: NodeStore, listen: str | None = None, uplink: bool = True) -> None:
    config = store.config
    replica = build(store)
    watch = certwatch.CertWatch(store, replica)
    stop, hup = threading.Event(), threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: hup.set())
    address = listen or config.listen_address
    relay = RelayWatch(store, replica.lock) if RelayWatch.wanted(store) else None
    if relay:
        relay.start()
    server, port, health_servicer = start_server(store, replica, address,
                                                 watch.server_credentials(), relay)
    log.info("serving %s on %s:%d", store.division, address.rsplit(":", 1)[0], port)
    certwatch.warn_expiry(store)
    metrics = Metrics(store.home)
    extras = []
    if config.metrics_address:
        extras.append(metrics.serve(config.metrics_address))
        log.info("metrics on http://%s/metrics", config.metrics_address)
    if config.health_address:
        extras.append(HealthServer(store.home, config.health_address))
        log.info("health probes on http://%s/healthz and /readyz", config.health_address)

    def on_attempt(state: linkstate.LinkState, report: ExchangeReport | None) -> None:
        set_uplink(health_servicer, state.state)
        metrics.observe(state.state, report)
        sdnotify.notify(f"STATUS=link {state.state}")

    uplink_thread = None
    if uplink and config.parent_address:
        set_uplink(health_servicer, linkstate.load(store.db).state)
        up = link.make_uplink(store, replica)
        uplink_thread = threading.Thread(
            target=link.run_forever, args=(store, up, stop, on_attempt),
            kwargs={"before_exchange": lambda: _take_identity(watch, up)}, daemon=True)
        uplink_thread.start()
    else:
        health_servicer.set(UPLINK_SERVICE, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
    sdnotify.notify("READY=1")
    _tick_until(stop, hup, watch, store, relay, config.watch_certificates)
    sdnotify.notify("STOPPING=1")
    log.info("stopping")
    if uplink_thread:
        uplink_thread.join(timeout=60)
    server.stop(GRACE_SECONDS).wait()
    for extra in extras:
        extra.shutdown()
    log.info("stopped")


def _take_identity(watch: certwatch.CertWatch, up) -> None:
    """Between exchanges: reconnect with a reloaded certificate."""
    if watch.uplink_identity_changed.is_set():
        watch.uplink_identity_changed.clear()
        up.close()
        up.identity = watch.identity


def _tick_until(stop: threading.Event, hup: threading.Event, watch: certwatch.CertWatch,
                store: NodeStore, relay: RelayWatch | None, watch_files: bool) -> None:
    watchdog = sdnotify.watchdog_interval()
    tick = min(TICK_SECONDS, watchdog) if watchdog else TICK_SECONDS
    next_expiry_check = time.monotonic() + EXPIRY_CHECK_SECONDS
    next_relay = time.monotonic() + store.config.interval_seconds
    while not stop.wait(tick):
        if hup.is_set():
            hup.clear()
            sdnotify.notify("RELOADING=1")
            log.info("SIGHUP: reloading the certificate")
            watch.reload("SIGHUP")
            sdnotify.notify("READY=1")
        elif watch_files and watch.changed():
            watch.reload("certificate files changed")
        if time.monotonic() >= next_expiry_check:
            next_expiry_check += EXPIRY_CHECK_SECONDS
            certwatch.warn_expiry(store)
        if relay and time.monotonic() >= next_relay:
            next_relay = time.monotonic() + store.config.interval_seconds
            relay.sweep()
        if watchdog:
            sdnotify.notify("WATCHDOG=1")
