"""``tongban pki``: enrolment, certificate inspection, key rotation, checkpoint export.

Enrolment works by file so that it survives days without a link: the child runs
``pki csr`` and carries node.csr to the parent's operator, who runs ``pki issue``
and carries the bundle back for ``pki import``. Every command refuses with one
line (a pki.errors.Error); the main command prints it.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography import x509

from node.cli_common import emit_json, home_option, json_option, resolve_home
from node.clock import wall_ms
from node.home import Home
from node.store import Draft, NodeStore
from pki import certs, division
from pki.checkpoint import verify_checkpoint
from pki.errors import EnvironmentProblem, InputError, VerificationError
from pki.export import export_checkpoint
from pki.keys import generate_key, load_private_key, save_private_key, write_private_file
from pki.revocation import revocation_body
from pki.verify import Purpose, UntrustedRoot, verify_chain
from protos.tongban.v1 import record_pb2
from sync.log import LogStore

ROOT_DAYS = 3650
NODE_DAYS = 730
EXPIRY_WARNING_DAYS = 30


def _now() -> datetime:
    return datetime.fromtimestamp(wall_ms() / 1000, UTC)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise EnvironmentProblem(f"no {what} at {path}") from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {what} {path}: {exc.strerror}") from exc


def _write_public(path: Path, data: bytes) -> None:
    """Certificates and CSRs are public, but a half-written one still breaks a node."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror}") from exc


def _load_chain_file(path: Path) -> list[x509.Certificate]:
    data = _read(path, "certificate chain")
    return certs.load_certs(data, f"certificate chain {path}") if data.strip() else []


@dataclass(frozen=True)
class _Identity:
    """A node's certificate with the issuers above it, nearest first, ending at the root."""

    cert: x509.Certificate
    issuers: list[x509.Certificate]

    @property
    def root(self) -> x509.Certificate:
        return self.issuers[-1] if self.issuers else self.cert

    @property
    def intermediates(self) -> list[x509.Certificate]:
        return self.issuers[:-1]

    def chain(self) -> list[x509.Certificate]:
        return [self.cert, *self.issuers]


def _home_identity(home: Home) -> _Identity:
    cert = certs.load_cert(_read(home.cert_path, "node certificate"), str(home.cert_path))
    issuers = _load_chain_file(home.chain_path) if home.chain_path.exists() else []
    return _Identity(cert, issuers)


@click.group("pki")
def pki_group() -> None:
    """Certificates: national root, enrolment of child nodes, rotation, audit export.

    \b
    Example:
      tongban pki csr && tongban pki import node-540102.pem
    """


@pki_group.command("init-root")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for root.crt and root.key (the key can then be moved offline).")
@click.option("--days", type=int, default=ROOT_DAYS, show_default=True, help="Validity in days.")
@home_option
def init_root(out: str | None, days: int, home_dir: str | None) -> None:
    """Create the national root CA (division 000000).

    With --out, writes a new root key (mode 0600) and self-signed root.crt into
    the folder, to be kept offline and used with `pki issue --ca-cert --ca-key`.
    Without --out, makes the root from the key of the national node's home
    (created by `tongban init --division 000000`) and installs it as node.crt and
    root.crt: the national node then signs with the root key itself.

    \b
    Example:
      tongban pki init-root --out /media/offline-ca --days 3650
    """
    now = _now()
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / "root.crt").exists():
            raise InputError(f"{folder / 'root.crt'} already exists; nothing changed")
        key = generate_key()
        root = certs.make_root(key, now, days)
        save_private_key(key, folder / "root.key")
        _write_public(folder / "root.crt", certs.cert_pem(root))
        click.echo(f"root CA 000000 serial {certs.serial_hex(root)} "
                   f"valid until {root.not_valid_after_utc:%Y-%m-%d}")
        click.echo(f"certificate: {folder / 'root.crt'}")
        click.echo(f"private key: {folder / 'root.key'} (mode 0600; keep it offline)")
        return
    home = resolve_home(home_dir)
    config = home.load_config()
    if config.division != division.NATIONAL:
        raise InputError(
            f"init-root without --out needs the national node's home: got division "
            f"{config.division}, want {division.NATIONAL}"
        )
    if home.cert_path.exists():
        raise InputError(f"{home.cert_path} already exists; nothing changed")
    root = certs.make_root(load_private_key(home.key_path), now, days)
    _write_public(home.root_cert_path, certs.cert_pem(root))
    _write_public(home.chain_path, b"")
    _write_public(home.cert_path, certs.cert_pem(root))
    click.echo(f"root CA 000000 serial {certs.serial_hex(root)} installed in {home.path}")


@pki_group.command()
@home_option
def csr(home_dir: str | None) -> None:
    """Write node.csr for this node's key, to be carried to the parent's operator.

    \b
    Example:
      tongban pki csr --home /srv/tongban
    """
    home = resolve_home(home_dir)
    config = home.load_config()
    request = certs.make_csr(load_private_key(home.key_path), config.division)
    _write_public(home.csr_path, certs.csr_pem(request))
    click.echo(str(home.csr_path))


@pki_group.command()
@click.argument("csr_file", metavar="CSR", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the issued certificate bundle (PEM).")
@click.option("--ca-cert", type=click.Path(dir_okay=False), default=None,
              help="Issuer certificate (default: this node's node.crt).")
@click.option("--ca-key", type=click.Path(dir_okay=False), default=None,
              help="Issuer private key (default: this node's node.key).")
@click.option("--chain", "chain_file", type=click.Path(dir_okay=False), default=None,
              help="Issuer's chain up to and including the root (not needed for the root).")
@click.option("--days", type=int, default=NODE_DAYS, show_default=True, help="Validity in days.")
@home_option
def issue(csr_file: str, out: str, ca_cert: str | None, ca_key: str | None,
          chain_file: str | None, days: int, home_dir: str | None) -> None:
    """Certify a child node: run by the parent's operator.

    Writes the new certificate followed by the issuer chain up to the root, the
    file the child imports. Refuses a division outside the issuer's subtree.

    \b
    Example:
      tongban pki issue node-540102.csr --out node-540102.pem --home /srv/tongban-540000
    """
    request = certs.load_csr(_read(Path(csr_file), "certificate request"), csr_file)
    if (ca_cert is None) != (ca_key is None):
        raise InputError("--ca-cert and --ca-key go together (or neither, to use --home)")
    if ca_cert is not None and ca_key is not None:
        issuer_cert = certs.load_cert(_read(Path(ca_cert), "issuer certificate"), ca_cert)
        issuer_key = load_private_key(ca_key)
        if chain_file is not None:
            issuers = _load_chain_file(Path(chain_file))
        elif certs.is_self_signed(issuer_cert):
            issuers = []
        else:
            raise InputError(f"issuer {certs.division_of(issuer_cert)} is not the root: "
                             "pass its chain with --chain")
        issuer = _Identity(issuer_cert, issuers)
    else:
        home = resolve_home(home_dir)
        issuer = _home_identity(home)
        issuer_key = load_private_key(home.key_path)
    now = _now()
    verify_chain(issuer.cert, issuer.intermediates, issuer.root, now, purpose=Purpose.ISSUING)
    cert = certs.issue(request, issuer.cert, issuer_key, now, days)
    bundle = [cert, *issuer.chain()]
    verify_chain(cert, bundle[1:-1], issuer.root, now)
    _write_public(Path(out), certs.certs_pem(bundle))
    click.echo(f"issued {certs.division_of(cert)} serial {certs.serial_hex(cert)} "
               f"valid until {cert.not_valid_after_utc:%Y-%m-%d}: {out}")


@pki_group.command("import")
@click.argument("bundle_file", metavar="CERT", type=click.Path(dir_okay=False))
@home_option
def import_(bundle_file: str, home_dir: str | None) -> None:
    """Install the certificate bundle the parent issued for this node.

    Checks that it is for this node's division and key and that its chain
    verifies to the root in the bundle (and to the installed root.crt, if any).

    \b
    Example:
      tongban pki import node-540102.pem
    """
    home = resolve_home(home_dir)
    config = home.load_config()
    bundle = certs.load_certs(_read(Path(bundle_file), "certificate bundle"), bundle_file)
    identity = _Identity(bundle[0], bundle[1:])
    got = certs.division_of(identity.cert)
    if got != config.division:
        raise InputError(f"certificate is for {got}, but this node is {config.division}")
    certs.require_key_matches(load_private_key(home.key_path), identity.cert)
    if not certs.is_self_signed(identity.root):
        raise UntrustedRoot(f"bundle {bundle_file} does not end with a self-signed root")
    if home.root_cert_path.exists():
        installed = certs.load_cert(_read(home.root_cert_path, "root"), str(home.root_cert_path))
        if installed != identity.root:
            raise UntrustedRoot(
                f"bundle root (serial {certs.serial_hex(identity.root)}) is not the installed "
                f"root {home.root_cert_path} (serial {certs.serial_hex(installed)})"
            )
    verify_chain(identity.cert, identity.intermediates, identity.root, _now())
    _write_public(home.root_cert_path, certs.cert_pem(identity.root))
    _write_public(home.chain_path, certs.certs_pem(identity.issuers))
    _write_public(home.cert_path, certs.cert_pem(identity.cert))
    home.csr_path.unlink(missing_ok=True)
    click.echo(f"installed {got} serial {certs.serial_hex(identity.cert)} "
               f"valid until {identity.cert.not_valid_after_utc:%Y-%m-%d}")


def _describe(cert: x509.Certificate, now: datetime) -> dict:
    issuer = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return {
        "division": certs.division_of(cert),
        "serial": certs.serial_hex(cert),
        "issuer": str(issuer[0].value) if issuer else cert.issuer.rfc4514_string(),
        "ca": certs.is_ca_cert(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": (cert.not_valid_after_utc - now).days,
    }


@pki_group.command()
@home_option
@json_option
def show(home_dir: str | None, as_json: bool) -> None:
    """Show this node's certificate chain and how long each certificate has left.

    Warns when one expires within 30 days or when a key rotation awaits its
    certificate.

    \b
    Example:
      tongban pki show --json
    """
    home = resolve_home(home_dir)
    identity = _home_identity(home)
    now = _now()
    chain = [_describe(c, now) for c in identity.chain()]
    warnings = [
        f"certificate {c['division']} (serial {c['serial']}) expires in {c['days_left']} days"
        for c in chain if c["days_left"] < EXPIRY_WARNING_DAYS
    ]
    if home.key_path.exists():
        try:
            certs.require_key_matches(load_private_key(home.key_path), identity.cert)
        except VerificationError:
            warnings.append("rotation pending: node.key does not match node.crt; "
                            "have the parent issue node.csr, then run 'tongban pki import'")
    if as_json:
        emit_json({"chain": chain, "warnings": warnings})
        return
    for c in chain:
        kind = "CA" if c["ca"] else "leaf"
        click.echo(f"{c['division']}  {kind:4}  serial {c['serial']}  issuer {c['issuer']}  "
                   f"{c['not_before'][:10]} .. {c['not_after'][:10]}  "
                   f"{c['days_left']} days left")
    for w in warnings:
        click.echo(f"warning: {w}")


@pki_group.command()
@home_option
def rotate(home_dir: str | None) -> None:
    """Start a key rotation: new node key and node.csr; the old key and cert are kept.

    The old key and certificate move to old-keys/ (mode 0600) so checkpoints
    signed before stay verifiable. Until the parent has issued node.csr and
    `pki import` has installed the new certificate, the node keeps signing with
    the old key, so work at the window never stops.

    \b
    Example:
      tongban pki rotate && tongban pki show
    """
    home = resolve_home(home_dir)
    config = home.load_config()
    old_key = load_private_key(home.key_path)
    identity = _home_identity(home)
    certs.require_key_matches(old_key, identity.cert)
    stamp = f"{_now():%Y%m%dT%H%M%SZ}-{certs.serial_hex(identity.cert)}"
    home.old_keys_dir.mkdir(mode=0o700, exist_ok=True)
    kept_key = home.old_keys_dir / f"{stamp}.key"
    write_private_file(kept_key, _read(home.key_path, "node key"))
    _write_public(home.old_keys_dir / f"{stamp}.crt", certs.cert_pem(identity.cert))
    new_key = generate_key()
    save_private_key(new_key, home.key_path, replace=True)
    _write_public(home.csr_path, certs.csr_pem(certs.make_csr(new_key, config.division)))
    click.echo(f"old key and certificate kept as {home.old_keys_dir / stamp}.key/.crt")
    click.echo(f"new request {home.csr_path}: have the parent issue it, then 'tongban pki import'")


def _old_certs(home: Home) -> list[x509.Certificate]:
    if not home.old_keys_dir.is_dir():
        return []
    return [certs.load_cert(p.read_bytes(), str(p))
            for p in sorted(home.old_keys_dir.glob("*.crt"), reverse=True)]


@pki_group.command("export-checkpoint")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for checkpoint.txt, checkpoint.sig and the PEM files.")
@home_option
def export_checkpoint_cmd(out: str, home_dir: str | None) -> None:
    """Export this node's latest signed checkpoint for checking with OpenSSL alone.

    \b
    Example:
      tongban pki export-checkpoint --out audit/ && cd audit && \\
        openssl dgst -sha256 -verify signer-pubkey.pem -signature checkpoint.sig checkpoint.txt
    """
    home = resolve_home(home_dir)
    config = home.load_config()
    if not home.db_path.exists():
        raise EnvironmentProblem(f"no node database at {home.db_path}")
    db = sqlite3.connect(home.db_path)
    try:
        latest = LogStore(db).latest_checkpoint(config.division)
    finally:
        db.close()
    if latest is None:
        raise InputError(f"no signed checkpoint of {config.division} yet; nothing exported")
    identity = _home_identity(home)
    for cert in [identity.cert, *_old_certs(home)]:
        try:
            verify_checkpoint(latest.note, cert)
        except VerificationError:
            continue
        files = export_checkpoint(latest.note, [cert, *identity.issuers], out)
        click.echo(f"exported {config.division} checkpoint size {latest.size} to {files.directory}")
        click.echo("check: openssl verify -CAfile root.pem -untrusted chain.pem signer.pem")
        click.echo("check: openssl dgst -sha256 -verify signer-pubkey.pem "
                   "-signature checkpoint.sig checkpoint.txt")
        return
    raise VerificationError(
        f"latest checkpoint of {config.division} (size {latest.size}) verifies with neither "
        "node.crt nor any certificate in old-keys/"
    )


@pki_group.command()
@click.argument("serial")
@click.option("--reason", required=True,
              help="RFC 5280 reason: keyCompromise, superseded, cessationOfOperation, …")
@home_option
def revoke(serial: str, reason: str, home_dir: str | None) -> None:
    """Revoke a certificate this node issued (a record in this node's own log).

    The revocation flows up and down with the log; every verifier refuses the
    certificate for anything signed after the revocation time.

    \b
    Example:
      tongban pki revoke 3f2a9c0d1e --reason keyCompromise --home /srv/tongban-540100
    """
    try:
        number = int(serial, 16)
    except ValueError as exc:
        raise InputError(f"bad serial {serial!r}: want the hex serial 'pki show' prints") from exc
    body = revocation_body(number, reason, datetime.fromtimestamp(wall_ms() / 1000, UTC))
    store = NodeStore.open(resolve_home(home_dir))
    store.write([Draft(record_pb2.CERT_REVOKED, lambda _s, _h: body)])
    click.echo(f"revoked serial {number:x} ({reason}) in the log of {store.division}")
