"""Who may author licence and seal records: the rules, in one function per record.

Issue 10 gathers every record kind's authorship rule into one authority
table; these are the rules for the kinds this module knows, written so they
can move there unchanged. Each returns None when the record's origin may say
it, else raises LicenceAuthorityError naming the rule and the owner. The
projection calls them for own writes (refused before anything is written)
and for received records (kept in the log, noted in projection_errors, never
projected).
"""

from __future__ import annotations

from cryptography import x509

from node.licence_format import Claims, issuing_node
from pki.division import NATIONAL, Level, level
from pki.errors import InputError
from pki.seal_certs import seal_identity
from protos.tongban.v1 import record_pb2


class LicenceAuthorityError(InputError):
    """A licence or seal record whose origin may not say it."""


def check_seal_author(record: record_pb2.Record, cert: x509.Certificate) -> None:
    """A seal is published only by the node that issued its certificate, for its own division."""
    ident = seal_identity(cert)
    issuer_cn = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if ident.division != record.origin or [str(a.value) for a in issuer_cn] != [record.origin]:
        raise LicenceAuthorityError(
            f"seal {ident.uscc} belongs to {ident.division}; {record.origin} may not publish it")


def check_issue_author(record: record_pb2.Record, claims: Claims) -> None:
    """A licence is issued only by the node its number names, at the seq its claims name."""
    owner = issuing_node(claims.licence_id)
    if owner != record.origin or claims.node != record.origin or claims.seq != record.seq:
        raise LicenceAuthorityError(
            f"licence {claims.licence_id} belongs to {owner}; {record.origin}#{record.seq} "
            "may not issue it")


def check_revoke_author(record: record_pb2.Record, licence_id: str) -> None:
    """Only the issuing node revokes its licence."""
    owner = issuing_node(licence_id)
    if owner != record.origin:
        raise LicenceAuthorityError(
            f"licence {licence_id} belongs to {owner}; {record.origin} may not revoke it")


def check_status_author(record: record_pb2.Record) -> None:
    """The licence status relay is the national node's alone (it is the root of trust)."""
    if record.origin != NATIONAL:
        raise LicenceAuthorityError(
            f"the licence status relay belongs to {NATIONAL}; {record.origin} may not write it")


def check_type_author(record: record_pb2.Record) -> None:
    """Licence types are published by the national node, or by a province for its own types."""
    if level(record.origin) not in (Level.NATIONAL, Level.PROVINCE):
        raise LicenceAuthorityError(
            f"licence types belong to {NATIONAL} and the provinces; {record.origin} may not "
            "publish one")
