"""The node home: one folder holding config, database, keys and certificates.

Every command finds its home the same way (``--home``, else ``$TONGBAN_HOME``,
else ``./tongban-home``) so that a county administrator never has to pass paths.
The home is also the one place that reads its certificate and key files
(``cert_chain``, ``old_certs``, ``signing_key``): enrolment, the store's signer
and the replication wiring all see the same files the same way.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from node import config_schema
from node.config_schema import Config
from pki import certs
from pki.errors import EnvironmentProblem, MalformedError
from pki.files import read_file, write_atomic
from pki.keys import load_private_key

__all__ = ["CertChain", "Config", "Home", "load_chain_file"]

DEFAULT_HOME = "tongban-home"
HOME_ENV = "TONGBAN_HOME"


@dataclass(frozen=True)
class CertChain:
    """A node's certificate with the issuers above it, nearest first, ending at the root."""

    cert: x509.Certificate
    issuers: list[x509.Certificate]

    @property
    def root(self) -> x509.Certificate:
        return self.issuers[-1] if self.issuers else self.cert

    @property
    def intermediates(self) -> list[x509.Certificate]:
        return self.issuers[:-1]

    def all(self) -> list[x509.Certificate]:
        return [self.cert, *self.issuers]


def load_chain_file(path: Path, what: str = "certificate chain") -> list[x509.Certificate]:
    """The certificates in a PEM file; an empty file (the national node's chain) is none."""
    data = read_file(path, what)
    return certs.load_certs(data, f"{what} {path}") if data.strip() else []


@dataclass(frozen=True)
class Home:
    path: Path

    @classmethod
    def locate(cls, explicit: str | os.PathLike | None = None) -> Home:
        chosen = explicit or os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(chosen).absolute())

    @property
    def config_path(self) -> Path:
        return self.path / "tongban.toml"

    @property
    def db_path(self) -> Path:
        return self.path / "node.db"

    @property
    def key_path(self) -> Path:
        """The node's current private key (mode 0600)."""
        return self.path / "node.key"

    @property
    def old_keys_dir(self) -> Path:
        """Retired keys after ``pki rotate``, kept so old signatures stay explainable."""
        return self.path / "old-keys"

    @property
    def csr_path(self) -> Path:
        return self.path / "node.csr"

    @property
    def cert_path(self) -> Path:
        return self.path / "node.crt"

    @property
    def chain_path(self) -> Path:
        """Issuer certificates above the node's own, nearest first, ending at the root."""
        return self.path / "chain.pem"

    @property
    def root_cert_path(self) -> Path:
        return self.path / "root.crt"

    def exists(self) -> bool:
        return self.config_path.exists()

    def load_config(self) -> Config:
        if not self.config_path.exists():
            raise EnvironmentProblem(
                f"no tongban node at {self.path}: run 'tongban init' or pass --home"
            )
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise MalformedError(f"config {self.config_path}", str(exc)) from exc
        found = config_schema.problems(data)
        if found:
            raise MalformedError(f"config {self.config_path}", "; ".join(found))
        return config_schema.build(data)

    def save_config(self, config: Config) -> None:
        write_atomic(self.config_path, config.to_toml().encode("utf-8"), what="config")

    def cert_chain(self) -> CertChain:
        """node.crt and chain.pem as installed by ``pki import`` (or ``pki init-root``)."""
        if not self.cert_path.exists():
            raise EnvironmentProblem(
                f"no node certificate at {self.cert_path}: enrol the node first (tongban pki "
                "csr, then pki import; tongban pki init-root on the national node)")
        cert = certs.load_cert(read_file(self.cert_path, "node certificate"), str(self.cert_path))
        return CertChain(cert, load_chain_file(self.chain_path))

    def root_cert(self) -> x509.Certificate:
        """The installed root.crt, the trust anchor of every link and audit."""
        found = load_chain_file(self.root_cert_path, "root certificate")
        if len(found) != 1:
            raise EnvironmentProblem(
                f"{self.root_cert_path} holds {len(found)} certificates, want the root alone: "
                "re-run 'tongban pki import'")
        return found[0]

    def installed_certs(self) -> list[x509.Certificate]:
        """node.crt and chain.pem where present: a home that was never enrolled has none."""
        found: list[x509.Certificate] = []
        for path in (self.cert_path, self.chain_path):
            if path.exists():
                found.extend(load_chain_file(path, "certificate file"))
        return found

    def old_certs(self) -> list[x509.Certificate]:
        """Certificates retired by ``pki rotate``, newest first."""
        return [certs.load_cert(read_file(p, "old certificate"), str(p))
                for p in self._old("*.crt")]

    def signing_key(self) -> ec.EllipticCurvePrivateKey:
        """The key that matches node.crt: node.key, or mid-rotation the old key in old-keys/.

        During a key rotation node.key is already new while node.crt is still
        the old one (until the parent issues and `pki import` installs); signing
        then continues with the old key, so every checkpoint verifies under some
        certificate and the window never stops working. Before enrolment there
        is no certificate and node.key signs.
        """
        current = load_private_key(self.key_path)
        if not self.cert_path.exists():
            return current
        cert = self.cert_chain().cert
        for key in [current, *(load_private_key(p) for p in self._old("*.key"))]:
            if certs.same_public_key(key.public_key(), cert.public_key()):
                return key
        raise EnvironmentProblem(
            f"no key in {self.path} matches {self.cert_path}: restore node.key "
            "or re-import the certificate")

    def decryption_keys(self) -> list[ec.EllipticCurvePrivateKey]:
        """node.key and the retired keys in old-keys/: a bundle is encrypted to whichever
        certificate its sender knew (sync.bundle.Keyring picks the one that matches)."""
        return [load_private_key(self.key_path),
                *(load_private_key(p) for p in self._old("*.key"))]

    def _old(self, pattern: str) -> list[Path]:
        """Files in old-keys/, newest first (their names start with the rotation time)."""
        if not self.old_keys_dir.is_dir():
            return []
        return sorted(self.old_keys_dir.glob(pattern), reverse=True)
