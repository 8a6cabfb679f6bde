"""Picking up a new certificate without a restart.

``pki import`` replaces node.crt and chain.pem in place; ``serve`` notices
(the files' size and modification time, checked every second, unless
``[ops] watch_certificates`` is off) or is told by SIGHUP, loads the new
material and, only if it loads and its key matches, swaps it in: new TLS
handshakes from children get the new certificate (gRPC's dynamic server
credentials ask ``server_config`` at each handshake), the replica signs
receipts and says Hello with it, and the uplink reconnects with it between
exchanges. Calls in flight finish on the old one. Material
that does not load is logged and the old certificate stays in use. The log
line names what triggered the reload, so an operator (and a test) can tell a
SIGHUP from a file change.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import grpc

from node.store import NodeStore
from node.wiring import identity
from pki import certs
from pki.errors import Error
from pki.keys import load_private_key
from sync.replica import Replica
from sync.tls import TlsIdentity

log = logging.getLogger("tongban.certs")


def _fingerprint(store: NodeStore) -> tuple[tuple[int, int] | None, ...]:
    home = store.home
    out: list[tuple[int, int] | None] = []
    for path in (home.cert_path, home.chain_path, home.key_path, home.root_cert_path):
        try:
            st = path.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


class CertWatch:
    def __init__(self, store: NodeStore, replica: Replica) -> None:
        self.store = store
        self.replica = replica
        self.identity: TlsIdentity = identity(store.home)
        self._seen = _fingerprint(store)
        self._pending_server: grpc.ServerCertificateConfiguration | None = None
        self._guard = threading.Lock()
        #: set by a reload; the uplink takes it between exchanges
        self.uplink_identity_changed = threading.Event()

    def server_credentials(self) -> grpc.ServerCredentials:
        # gRPC's contract: the fetcher returns None for "unchanged"; types-grpcio omits None
        return grpc.dynamic_ssl_server_credentials(
            self._config(self.identity), self.server_config,  # type: ignore[arg-type]
            require_client_authentication=True)

    @staticmethod
    def _config(ident: TlsIdentity) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(ident.key_pem, ident.chain_pem)], root_certificates=ident.root_pem)

    def server_config(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by gRPC at each handshake: the new configuration once, else None."""
        with self._guard:
            config, self._pending_server = self._pending_server, None
        return config

    def changed(self) -> bool:
        return _fingerprint(self.store) != self._seen

    def reload(self, trigger: str) -> bool:
        """Load the certificate files again; True when new material is now in use.

        ``trigger`` says why, for the log: "SIGHUP" or "certificate files changed".
        """
        self._seen = _fingerprint(self.store)
        home, r = self.store.home, self.replica
        try:
            chain = home.cert_chain()
            key = load_private_key(home.key_path)
            certs.require_key_matches(key, chain.cert)
            ident = identity(home)
            old = home.old_certs()
        except Error as exc:
            log.warning("new certificate not loaded, still using serial %s: %s",
                      certs.serial_hex(r.chain[0]), exc.diagnostics())
            return False
        if certs.serial_hex(chain.cert) == certs.serial_hex(r.chain[0]):
            return False
        issued = [chain.cert, *(c for c in chain.issuers if not certs.is_self_signed(c))]
        with r.lock, self.store.transaction():
            r.certs.add(issued + old)
            r.chain = issued
            r.own_certs = [chain.cert, *old]
            r.key = key
            self.store.forget_signer()
        with self._guard:
            self.identity = ident
            self._pending_server = self._config(ident)
        self.uplink_identity_changed.set()
        log.info("certificate reloaded (%s): serial %s valid until %s", trigger,
                 certs.serial_hex(chain.cert), f"{chain.cert.not_valid_after_utc:%Y-%m-%d}")
        warn_expiry(self.store)
        return True


WARN_DAYS = 30
CRITICAL_DAYS = 7


def expiry_message(days_left: float, division: str) -> tuple[int, str] | None:
    """A log level and line for a certificate close to (or past) its end, else None."""
    if days_left < 0:
        return logging.ERROR, f"certificate of {division} expired {-days_left:.0f} days ago"
    if days_left < CRITICAL_DAYS:
        return logging.ERROR, f"certificate of {division} expires in {days_left:.1f} days"
    if days_left < WARN_DAYS:
        return logging.WARNING, f"certificate of {division} expires in {days_left:.0f} days"
    return None


def warn_expiry(store: NodeStore) -> None:
    cert = store.home.cert_chain().cert
    left = (cert.not_valid_after_utc - datetime.now(UTC)).total_seconds() / 86400
    found = expiry_message(left, certs.division_of(cert))
    if found:
        log.log(found[0], "%s: have the parent issue a new one (tongban pki rotate, "
                "pki csr), then pki import", found[1])
