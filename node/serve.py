"""``tongban serve``: the Federation server for children, plus the link to the parent.

SIGTERM or SIGINT sets one stop event: the uplink finishes the batch in flight,
the server stops taking calls and gives running ones a grace period.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node import link
from node.store import NodeStore
from node.wiring import build, identity
from pki.errors import EnvironmentProblem
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync.service import FederationService
from sync.tls import SERVER_OPTIONS

GRACE_SECONDS = 5.0
SERVICE_NAME = federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name


def start_server(store: NodeStore, replica, address: str) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=SERVER_OPTIONS,
                         compression=grpc.Compression.Gzip)
    federation_pb2_grpc.add_FederationServicer_to_server(FederationService(replica), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_secure_port(address, identity(store.home).server_credentials())
    if port == 0:
        raise EnvironmentProblem(f"cannot listen on {address}: address in use or not local")
    server.start()
    return server, port


def serve(store: NodeStore, log: Callable[[str], None], listen: str | None = None,
          uplink: bool = True) -> None:
    replica = build(store)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    address = listen or store.config.listen_address
    server, port = start_server(store, replica, address)
    log(f"serving {store.division} on {address.rsplit(':', 1)[0]}:{port}")
    uplink_thread = None
    if uplink and store.config.parent_address:
        uplink_thread = threading.Thread(
            target=link.run_forever, args=(store, replica, stop, log), daemon=True)
        uplink_thread.start()
    stop.wait()
    log("stopping")
    if uplink_thread:
        uplink_thread.join(timeout=60)
    server.stop(GRACE_SECONDS).wait()
    log("stopped")
