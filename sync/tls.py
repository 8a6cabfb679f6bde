"""Mutual TLS and channel settings shared by the servicer and the uplink.

Keepalive values are set on both sides so the server never punishes the
client's pings (GOAWAY "too_many_pings"), and a blackholed link is noticed in
keepalive_time + keepalive_timeout rather than at the TCP timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from cryptography import x509

from pki.certs import load_cert
from pki.errors import VerificationError

KEEPALIVE_TIME_MS = 20_000
KEEPALIVE_TIMEOUT_MS = 10_000
#: Four times the largest batch (sync.batches.MAX_BATCH_BYTES) before compression.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 0),
]

SERVER_OPTIONS = [
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


@dataclass(frozen=True)
class TlsIdentity:
    """A node's TLS material: key, own certificate and issuers, and the trusted root."""

    key_pem: bytes
    chain_pem: bytes  # own certificate first, then issuers (not the root)
    root_pem: bytes

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.chain_pem)], root_certificates=self.root_pem,
            require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_pem, private_key=self.key_pem,
            certificate_chain=self.chain_pem)


def target_name(parent_division: str) -> str:
    """The TLS name a parent's certificate must carry; checked by gRPC on connect."""
    return f"node-{parent_division}.tongban"


def peer_certificate(context: grpc.ServicerContext) -> x509.Certificate:
    """The client certificate TLS already verified against the root."""
    # grpc maps each property to a list of values; types-grpcio says bytes
    pems: list[bytes] | None = context.auth_context().get(  # type: ignore[assignment]
        "x509_pem_cert")
    if not pems:
        raise VerificationError("peer presented no client certificate")
    return load_cert(pems[0], "peer certificate")

