"""A real Federation servicer in this process, and a child's mTLS stub to call it.

The server is the one ``tongban serve`` starts (node.serve.start_server) on
127.0.0.1 with the node's own TLS identity; it runs in this process so a test
can send hundreds of requests and then read the database the servicer wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

from node.home import Home
from node.serve import start_server
from node.store import NodeStore
from node.wiring import build, identity
from protos.tongban.v1 import federation_pb2_grpc
from sync.tls import CHANNEL_OPTIONS, target_name


@contextmanager
def served(home: Path) -> Iterator[str]:
    """The node at ``home`` serving children; yields its address."""
    store = NodeStore.open(Home(home))
    server = None
    try:
        replica = build(store)
        server, port, _ = start_server(store, replica, "127.0.0.1:0",
                                       identity(Home(home)).server_credentials())
        yield f"127.0.0.1:{port}"
    finally:
        if server is not None:
            server.stop(None)
        store.close()


@contextmanager
def channel_as(home: Path, server_division: str, address: str) -> Iterator[grpc.Channel]:
    """An mTLS channel presenting the certificate of the node at ``home``."""
    ident = identity(Home(home))
    with grpc.secure_channel(address, ident.channel_credentials(), options=[
            *CHANNEL_OPTIONS,
            ("grpc.ssl_target_name_override", target_name(server_division))]) as channel:
        yield channel


@contextmanager
def stub_as(home: Path, server_division: str, address: str
            ) -> Iterator[federation_pb2_grpc.FederationStub]:
    """A Federation stub presenting the certificate of the node at ``home``."""
    with channel_as(home, server_division, address) as channel:
        yield federation_pb2_grpc.FederationStub(channel)
