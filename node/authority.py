"""The authority table: for every record kind, who may author it and about what.

A signature proves who wrote a record; this module decides whether that
writer may say it. It is the one copy of every such rule (DESIGN.md, "The
authority table"), and three places call ``authorise``:

- own writes (NodeStore.write, through the strict projector): a record that
  breaks a rule is refused before anything is written;
- received records (push, pull, delivery, bundle, rebuild: the lenient
  projector): the record stays in the log, custody is kept, but it is never
  projected; the violation is kept in ``authority_violations``;
- ``tongban audit verify`` (sync.audit, through ``AuditPolicy``, which
  implements sync.contract.RecordPolicy): every violation is reported with
  origin, seq and rule.

Most rules need nothing but the record and its parsed body (a case belongs to
the division its number starts with). The staff rules need the origin's own
staff register and the case's reviewer so far: ``Facts`` gives them, read
from the projection tables at a node and kept in memory by the audit, which
walks each origin's log in sequence order, as every node projects it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from cryptography import x509
from google.protobuf.message import DecodeError, Message

from node.licence_format import issuing_node, parse_sealed
from node.workdays import date_of_ms
from pki.division import NATIONAL, Level, is_ancestor, level, require_known, validate
from pki.errors import Error, InputError, MalformedError
from pki.revocation import parse_revocation
from pki.seal_certs import seal_identity
from protos.tongban.v1 import record_pb2
from sync.certstore import parse_der
from sync.records import hlc_ms

Kind = record_pb2.Kind

#: Staff roles (node/staff.py); case actions need the role ROLE_FOR_ACTION names.
ROLES = ("clerk", "reviewer", "approver", "supervisor", "admin")
ROLE_FOR_ACTION = {
    "apply": "clerk", "accept": "clerk", "reject": "clerk", "request-supplement": "clerk",
    "supply": "clerk", "withdraw": "clerk", "deliver": "clerk", "evaluate": "clerk",
    "review": "reviewer", "suspend": "reviewer", "resume": "reviewer",
    "decide": "approver", "conclude": "approver", "check": "reviewer",
}
#: 代收代办: the actions the handling node authors on a case another node received; the
#: receiving node authors the rest (apply = intake and hand-over, supply, withdraw, deliver).
HANDLER_ACTIONS = frozenset({"accept", "reject", "request-supplement", "review", "decide",
                             "conclude", "suspend", "resume", "deliver", "check"})
#: 多地联办 step sides: the node where the case was applied, or the partner (joint_with).
STEP_SIDES = ("receiver", "partner")
#: 好差评 work by staff: typing in a paper card at the window, and the 差评 follow-up loop.
PAPER_CARD_ROLE = "clerk"
FOLLOW_UP_ROLE = "supervisor"
#: Levels whose nodes publish working-day calendars for their subtree.
CALENDAR_LEVELS = frozenset({Level.NATIONAL, Level.PROVINCE, Level.PREFECTURE})


class AuthorityViolation(InputError):
    """A record its origin may not write: ``rule`` names the row of the table it breaks."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule

    def diagnostics(self) -> str:
        return f"{self} (rule {self.rule})"


class UnknownKind(AuthorityViolation):
    """A kind this version does not know: from a newer node, kept but not projected."""

    def __init__(self, kind: int) -> None:
        super().__init__("unknown-kind", f"record kind {kind} is unknown to this version of "
                         "tongban; it is kept in the log and not applied (upgrade to apply it)")


@dataclass(frozen=True)
class Staff:
    """One entry of a node's staff register, as its own records made it."""

    staff_id: str
    name: str
    roles: frozenset[str]
    active: bool


class Facts(Protocol):
    """What the stateful rules need to know, as of the record being judged."""

    def staff_member(self, origin: str, staff_id: str) -> Staff | None:
        """The origin's register entry for ``staff_id``, or None if it never registered one."""
        ...

    def reviewer_of(self, case_no: str) -> str | None:
        """The staff ID of the case's latest 审查 (review) event, or None."""
        ...

    def cross_region_of(self, case_no: str) -> tuple[str, str] | None:
        """("handler" or "partner", division) when the case's apply names another node
        (代收代办 or 多地联办); ("", "") (or None) when it names none or the case is not
        held; UNSEEN when it cannot be known (an audit that has not read the apply)."""
        ...

    def has_answered(self, origin: str, request_origin: str, request_seq: int) -> bool:
        """Whether ``origin`` already answered change request ``request_origin#request_seq``."""
        ...


#: What an audit's Facts answer for a case whose apply it has not read: judged statelessly.
UNSEEN = ("unseen", "")


@dataclass(frozen=True)
class Rule:
    """One row of the table: the kind, who may author it, about what, and its body type."""

    kind: int
    body: type[Message]
    who: str
    about: str
    rule_ids: tuple[str, ...]
    #: the body arrives parsed as ``body``'s type, so each check declares its own type
    check: Callable[[record_pb2.Record, Any, Facts], None]


def case_owner(case_no: str) -> str:
    """The division that owns a case: the part of its number before the first dash."""
    return case_no.split("-", 1)[0]


def case_number(division: str, seq: int, hlc: int) -> str:
    """Federation-unique and never reused: the division plus the log seq of the apply."""
    return f"{division}-{date_of_ms(hlc_ms(hlc)).year}-{seq:07d}"


def apply_position(case_no: str) -> tuple[str, int] | None:
    """(origin, seq) of the apply a well-formed case number names (``case_number``)."""
    owner, _, rest = case_no.partition("-")
    seq = rest.rpartition("-")[2]
    if owner and seq.isascii() and seq.isdigit() and len(seq) <= 18:
        return owner, int(seq)
    return None


def code_namespace(impl_code: str) -> str:
    """The division an implementation code belongs to: the part before the first hyphen,
    or, for a national-platform code without hyphens, the credit code's division (3–8)."""
    head, dash, _ = impl_code.partition("-")
    return head if dash else impl_code[2:8]


def _deny(rule: str, message: str) -> NoReturn:
    raise AuthorityViolation(rule, message)


def _division(code: str) -> bool:
    try:
        validate(code)
    except InputError:
        return False
    return True


# --- the rules, one function per kind --------------------------------------------------------


def _matter_published(record: record_pb2.Record, body: record_pb2.Matter, facts: Facts) -> None:
    owner = code_namespace(body.impl_code)
    if owner != record.origin:
        _deny("catalogue-namespace", f"implementation code {body.impl_code} is in the namespace "
              f"of {owner}; {record.origin} may publish only codes of its own division")


def _matter_retired(record: record_pb2.Record, body: record_pb2.MatterRetired,
                    facts: Facts) -> None:
    owner = code_namespace(body.impl_code)
    if owner != record.origin:
        _deny("catalogue-publisher", f"matter {body.impl_code} belongs to {owner}; "
              f"{record.origin} may not retire it")


def _case_event(record: record_pb2.Record, body: record_pb2.CaseEvent, facts: Facts) -> None:
    # The audit's hot path (every case event of every origin): locals, no extra calls.
    origin, case_no, action, actor = record.origin, body.case_no, body.action, body.actor
    if not case_no.startswith(origin + "-"):  # the owner is the part before the first dash
        _handler_event(record, body, facts)
    elif action == "apply":
        theme = body.theme_case
        if theme and not theme.startswith(origin + "-"):
            _deny("theme-owner", f"case {case_no} of {origin} may not be a member of theme "
                  f"case {theme}, which belongs to {case_owner(theme)} (一件事 members are "
                  "the theme owner's own cases)")
        want = case_number(origin, record.seq, record.hlc)
        if case_no != want:
            _deny("case-number", f"an application at {origin}#{record.seq} must be "
                  f"numbered {want}, not {case_no}")
        if body.handled_by or body.joint_with:
            if theme:
                _deny("theme-owner", f"case {case_no} is a member of theme case {theme}; a "
                      "一件事 member is handled by the theme's owner, never handed over")
            _hand_over(record, body)
    else:
        cross = facts.cross_region_of(case_no)
        if cross and cross[0] in _CROSSING_ROLES:
            _receiver_event(record, body, cross)
    role = ROLE_FOR_ACTION.get(action)
    if role is None:
        return  # an unknown action is the workflow's to refuse, with its list of actions
    staff = facts.staff_member(origin, actor)
    if staff is None or not staff.active or role not in staff.roles:  # _require_staff says why
        _require_staff(facts, origin, actor, role, f"{action} of case {case_no}")
    if action == "decide" and facts.reviewer_of(case_no) == actor \
            and not body.one_person_office:
        _deny("review-and-decide", f"{body.actor} reviewed case {body.case_no} and may not "
              "also decide it (allowed only where the node's config declares a one-person "
              "office, which the decision then records)")


def _hand_over(record: record_pb2.Record, body: record_pb2.CaseEvent) -> None:
    """An apply naming another node is addressed to it: that record is the hand-over."""
    other = body.handled_by or body.joint_with
    if body.handled_by and body.joint_with:
        _deny("handover-recipient", f"case {body.case_no} names both a handler and a 联办 "
              "partner; a case is one or the other")
    if not _division(other) or other == record.origin:
        _deny("handover-recipient", f"case {body.case_no} is handed to {other}, which is not "
              f"another division")
    if record.recipient != other:
        _deny("handover-recipient", f"the hand-over of case {body.case_no} to {other} must be "
              f"addressed to {other}, not to {record.recipient or 'nobody'}")


#: the receiving node's side of a case that crosses nodes (``crossing``)
_CROSSING_ROLES = ("handler", "partner")


def _receiver_event(record: record_pb2.Record, body: record_pb2.CaseEvent,
                    cross: tuple[str, str]) -> None:
    """The receiving node's events on a case that crosses nodes (``cross``, what the
    apply said): addressed to the other node, so both ends hold the whole conversation;
    on a hand-over, not the handler's decisions."""
    role, other = cross
    if role == "handler" and body.action in HANDLER_ACTIONS - {"deliver"}:
        _deny("handover-handler", f"case {body.case_no} is handled by {other}; the "
              f"receiving node {record.origin} may not {body.action} it")
    if record.recipient != other:
        whom = "handler" if role == "handler" else "联办 partner"
        _deny("handover-recipient", f"{body.action} of case {body.case_no} must be addressed to "
              f"its {whom} {other}, not to {record.recipient or 'nobody'}")


def _handler_event(record: record_pb2.Record, body: record_pb2.CaseEvent,
                   facts: Facts) -> None:
    """An event on another node's case: only its handler's decisions, addressed back to it.

    When the apply cannot be known (an audit reading the handler's log before, or
    without, the receiver's), who the handler is cannot be judged: the stateless parts are.
    """
    owner = case_owner(body.case_no)
    cross = facts.cross_region_of(body.case_no)
    if (cross != UNSEEN and cross != ("handler", record.origin)) \
            or body.action not in HANDLER_ACTIONS:
        handed = f" and is handled by {cross[1]}" if cross and cross[0] == "handler" else ""
        _deny("case-owner", f"case {body.case_no} belongs to {owner}{handed}; "
              f"{record.origin} may not {body.action or 'act on'} it")
    if record.recipient != owner:
        _deny("handover-recipient", f"{body.action} of case {body.case_no} by its handler must "
              f"be addressed to {owner}, not to {record.recipient or 'nobody'}")


def _cross_region_list(record: record_pb2.Record, body: record_pb2.CrossRegionList,
                       facts: Facts) -> None:
    if record.origin != NATIONAL:
        _deny("crossregion-list", f"the 跨省通办 list belongs to {NATIONAL}; {record.origin} "
              "may not publish it")


def _cross_region_step(record: record_pb2.Record, body: record_pb2.CrossRegionStep,
                       facts: Facts) -> None:
    owner = case_owner(body.case_no)
    if body.side not in STEP_SIDES:
        _deny("joint-step", f"step {body.name} of case {body.case_no} has side {body.side!r}; "
              f"want {' or '.join(STEP_SIDES)}")
    cross = facts.cross_region_of(body.case_no)
    if cross == UNSEEN:   # who the partner is cannot be judged: the stateless part is
        if (body.side == "receiver") != (record.origin == owner):
            _deny("joint-step", f"a {body.side} step of case {body.case_no} cannot be "
                  f"{record.origin}'s")
        return
    if cross is None or cross[0] != "partner":
        _deny("joint-step", f"case {body.case_no} is not a 多地联办 case held here; it has "
              "no steps to record")
    author, other = (owner, cross[1]) if body.side == "receiver" else (cross[1], owner)
    if record.origin != author:
        _deny("joint-step", f"step {body.name} of case {body.case_no} is {author}'s to do; "
              f"{record.origin} may not record it")
    if record.recipient != other:
        _deny("joint-step", f"step {body.name} of case {body.case_no} must be addressed to "
              f"{other}, not to {record.recipient or 'nobody'}")
def _require_staff(facts: Facts, origin: str, actor: str, role: str, what: str) -> None:
    """``actor`` is an active member of ``origin``'s own staff register holding ``role``."""
    staff = facts.staff_member(origin, actor)
    if staff is None or not staff.active:
        state = "is disabled on" if staff else "is not on"
        _deny("staff-active", f"actor {actor or '(none)'} {state} {origin}'s staff "
              f"register ('tongban staff list'); {what} needs an active staff member")
    if role not in staff.roles:
        _deny("staff-role", f"{what} needs the {role} role; "
              f"{actor} of {origin} has {', '.join(sorted(staff.roles))}")


def _licence_issued(record: record_pb2.Record, body: record_pb2.Licence, facts: Facts) -> None:
    claims = parse_sealed(body.sealed).claims()
    owner = issuing_node(claims.licence_id)
    if owner != record.origin or claims.node != record.origin or claims.seq != record.seq:
        _deny("licence-issuer", f"licence {claims.licence_id} belongs to {owner}; "
              f"{record.origin}#{record.seq} may not issue it")


def _licence_revoked(record: record_pb2.Record, body: record_pb2.LicenceRevoked,
                     facts: Facts) -> None:
    owner = issuing_node(body.licence_id)
    if owner != record.origin:
        _deny("licence-revoker", f"licence {body.licence_id} belongs to {owner}; "
              f"{record.origin} may not revoke it")


def _licence_status(record: record_pb2.Record, body: record_pb2.LicenceStatus,
                    facts: Facts) -> None:
    if record.origin != NATIONAL:
        _deny("licence-relay", f"the licence status relay belongs to {NATIONAL}; "
              f"{record.origin} may not write it")


def _licence_type(record: record_pb2.Record, body: record_pb2.LicenceType,
                  facts: Facts) -> None:
    if level(record.origin) not in (Level.NATIONAL, Level.PROVINCE):
        _deny("licence-type-publisher", f"licence types belong to {NATIONAL} and the "
              f"provinces; {record.origin} may not publish one")


def _seal_issued(record: record_pb2.Record, body: record_pb2.SealIssued, facts: Facts) -> None:
    cert = _certificate(body.certificate_der, "seal")
    ident = seal_identity(cert)
    issuer_cn = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if ident.division != record.origin or [str(a.value) for a in issuer_cn] != [record.origin]:
        _deny("seal-issuer", f"seal {ident.uscc} belongs to {ident.division}; "
              f"{record.origin} may not publish it")


def _cert_issued(record: record_pb2.Record, body: record_pb2.CertIssued, facts: Facts) -> None:
    cert = _certificate(body.certificate_der, "certificate")
    issuer_cn = [str(a.value) for a in
                 cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    if issuer_cn != [record.origin]:
        _deny("cert-issuer", f"the certificate was issued by {', '.join(issuer_cn) or 'nobody'}; "
              f"{record.origin} may publish only certificates it issued")


def _cert_revoked(record: record_pb2.Record, body: record_pb2.CertRevoked, facts: Facts) -> None:
    """Keyed by issuer: a revocation names a serial of the origin's own issuing."""
    parse_revocation(record.origin, record.body)


def _key_rotated(record: record_pb2.Record, body: record_pb2.KeyRotated, facts: Facts) -> None:
    cert = _certificate(body.new_certificate_der, "certificate")
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    if names != [record.origin]:
        _deny("key-owner", f"a key rotation of {record.origin} must carry a certificate for "
              f"{record.origin}, not {', '.join(names) or 'nobody'}")


def _calendar_notice(record: record_pb2.Record, body: record_pb2.CalendarNotice,
                     facts: Facts) -> None:
    if level(record.origin) not in CALENDAR_LEVELS:
        _deny("calendar-level", f"{record.origin} is a {level(record.origin)} node; only "
              "national, province and prefecture nodes publish calendars (for their subtree)")


def _addressed(record: record_pb2.Record, what: str) -> None:
    try:
        require_known(record.recipient, "recipient")
    except InputError as exc:
        _deny("notice-recipient", f"a {what} from {record.origin} is addressed to "
              f"{record.recipient or 'nobody'}, which is not a division that exists ({exc})")
    if record.recipient == record.origin:
        _deny("notice-recipient", f"a {what} from {record.origin} is addressed to itself")


def _policy_notice(record: record_pb2.Record, body: record_pb2.PolicyNotice, facts: Facts) -> None:
    _addressed(record, "notice")


def _change_request(record: record_pb2.Record, body: record_pb2.ChangeRequest,
                    facts: Facts) -> None:
    _addressed(record, "catalogue change request")
    if not is_ancestor(record.recipient, record.origin):
        _deny("change-request", f"a catalogue change request from {record.origin} goes to an "
              f"ancestor, not to {record.recipient}")


#: Levels whose nodes publish the base catalogue (基本目录).
BASE_LEVELS = frozenset({Level.NATIONAL, Level.PROVINCE})


def _base_item(record: record_pb2.Record, body: record_pb2.BaseItem, facts: Facts) -> None:
    if level(record.origin) not in BASE_LEVELS:
        _deny("base-publisher", f"the base catalogue belongs to {NATIONAL} and the provinces; "
              f"{record.origin} may not publish base item {body.base_code or '(no code)'}")


def _change_answer(record: record_pb2.Record, body: record_pb2.ChangeRequestAnswer,
                   facts: Facts) -> None:
    proposer = body.request_origin
    if record.recipient != proposer or not _division(proposer) \
            or not is_ancestor(record.origin, proposer):
        _deny("change-answer", f"an answer to change request {proposer or '(none)'}"
              f"#{body.request_seq} comes from an ancestor of the proposer and is addressed "
              f"to it; {record.origin} wrote one addressed to {record.recipient or 'nobody'}")
    if facts.has_answered(record.origin, proposer, body.request_seq):
        _deny("change-answer-once", f"{record.origin} already answered change request "
              f"{proposer}#{body.request_seq}; an answer is final")


def _supervision_notice(record: record_pb2.Record, body: record_pb2.SupervisionNotice,
                        facts: Facts) -> None:
    owner = case_owner(body.case_no)
    if not _division(owner) or not is_ancestor(record.origin, owner):
        _deny("supervision-ancestor", f"case {body.case_no} belongs to {owner}; only its "
              f"ancestors may send a 督办 notice about it, and {record.origin} is not one")
    if record.recipient != owner:
        _deny("supervision-recipient", f"a 督办 notice about case {body.case_no} must be "
              f"addressed to its owner {owner}, not to {record.recipient or 'nobody'}")


class _AboutACase(Protocol):
    case_no: str


def _owner_only(what: str) -> Callable[[record_pb2.Record, Any, Facts], None]:
    def check(record: record_pb2.Record, body: _AboutACase, facts: Facts) -> None:
        owner = case_owner(body.case_no)
        if owner != record.origin:
            _deny("case-owner", f"case {body.case_no} belongs to {owner}; {record.origin} "
                  f"may not {what}")
    return check


_reply_owner = _owner_only("answer a 督办 notice about it")
_evaluation_owner = _owner_only("record its evaluation")
_follow_up_owner = _owner_only("follow up its 差评")


def _evaluation(record: record_pb2.Record, body: record_pb2.Evaluation, facts: Facts) -> None:
    _evaluation_owner(record, body, facts)
    if body.evaluator_kind == "paper-card":
        _require_staff(facts, record.origin, body.entered_by.strip(), PAPER_CARD_ROLE,
                       f"entering a paper evaluation card for case {body.case_no}")


def _evaluation_follow_up(record: record_pb2.Record, body: record_pb2.EvaluationFollowUp,
                          facts: Facts) -> None:
    _follow_up_owner(record, body, facts)
    _require_staff(facts, record.origin, body.actor.strip(), FOLLOW_UP_ROLE,
                   f"the {body.step or '(no step)'} follow-up of a 差评 of case {body.case_no}")


def _supervision_reply(record: record_pb2.Record, body: record_pb2.SupervisionReply,
                       facts: Facts) -> None:
    _reply_owner(record, body, facts)
    if record.recipient != body.notice_origin:
        _deny("reply-recipient", f"a reply about case {body.case_no} must be addressed to the "
              f"notice's sender {body.notice_origin}, not to {record.recipient or 'nobody'}")


def _staff_registered(record: record_pb2.Record, body: record_pb2.StaffMember,
                      facts: Facts) -> None:
    unknown = sorted(set(body.roles) - set(ROLES))
    if not body.staff_id.strip() or not body.name.strip() or not body.roles or unknown:
        _deny("staff-register", f"staff entry {body.staff_id or '(no id)'} of {record.origin} "
              f"needs an id, a name and roles from {', '.join(ROLES)}"
              + (f" (unknown: {', '.join(unknown)})" if unknown else ""))


def _staff_disabled(record: record_pb2.Record, body: record_pb2.StaffDisabled,
                    facts: Facts) -> None:
    if facts.staff_member(record.origin, body.staff_id) is None:
        _deny("staff-register", f"{record.origin} has no staff member {body.staff_id or '(none)'}"
              " to disable")


def _certificate(data: bytes, what: str) -> x509.Certificate:
    try:
        (cert,) = parse_der([data], what)
    except MalformedError as exc:
        raise AuthorityViolation("body-parse", f"{what} in the record does not parse "
                                 f"({exc})") from exc
    return cert


_OWN_LOG = "the origin itself, in its own log"

#: The table. DESIGN.md prints it; `authorise` is the only reader.
TABLE: dict[int, Rule] = {rule.kind: rule for rule in (
    Rule(Kind.MATTER_PUBLISHED, record_pb2.Matter, "the publisher",
         "implementation codes in its own division's namespace", ("catalogue-namespace",),
         _matter_published),
    Rule(Kind.MATTER_RETIRED, record_pb2.MatterRetired, "the publisher",
         "its own items", ("catalogue-publisher",), _matter_retired),
    Rule(Kind.CASE_EVENT, record_pb2.CaseEvent, "the case's owner (the division in its number); "
         "for a case it handed over (代收代办), its handler",
         "its own cases, numbered by the apply's seq; the actor an active staff member with "
         "the action's role; reviewer and approver two people unless a one-person office; "
         "a 一件事 member case under a theme case of its own. "
         "A hand-over is addressed to the handler; the handler authors 受理, 不予受理, 补正, "
         "审查, 决定, 办结 (and 送达 by post), addressed to the owner; the owner authors the "
         "rest, addressed to the handler",
         ("case-owner", "case-number", "staff-active", "staff-role", "review-and-decide",
          "theme-owner", "handover-recipient", "handover-handler"),
         _case_event),
    Rule(Kind.LICENCE_ISSUED, record_pb2.Licence, "the node the licence number names",
         "licences whose claims name it and this record's seq", ("licence-issuer",),
         _licence_issued),
    Rule(Kind.LICENCE_REVOKED, record_pb2.LicenceRevoked, "the issuing node",
         "its own licences", ("licence-revoker",), _licence_revoked),
    Rule(Kind.CERT_ISSUED, record_pb2.CertIssued, "the issuer", "certificates it issued",
         ("cert-issuer",), _cert_issued),
    Rule(Kind.CERT_REVOKED, record_pb2.CertRevoked, "the issuer",
         "serials it issued (revocations are keyed by issuer)", ("body-parse",), _cert_revoked),
    Rule(Kind.CALENDAR_NOTICE, record_pb2.CalendarNotice,
         "a national, province or prefecture node", "working days in its own subtree",
         ("calendar-level",), _calendar_notice),
    Rule(Kind.POLICY_NOTICE, record_pb2.PolicyNotice, "any node",
         "addressed to a division that exists (GB/T 2260) other than itself",
         ("notice-recipient",), _policy_notice),
    Rule(Kind.MATTER_CHANGE_REQUEST, record_pb2.ChangeRequest, "any node",
         "addressed to one of its ancestors", ("notice-recipient", "change-request"),
         _change_request),
    Rule(Kind.KEY_ROTATED, record_pb2.KeyRotated, _OWN_LOG, "its own new certificate",
         ("key-owner",), _key_rotated),
    Rule(Kind.SEAL_ISSUED, record_pb2.SealIssued, "the node that issued the seal",
         "seals of bodies in its own division", ("seal-issuer",), _seal_issued),
    Rule(Kind.LICENCE_STATUS, record_pb2.LicenceStatus, f"the national node {NATIONAL}",
         "revocations and seals relayed from every issuer", ("licence-relay",), _licence_status),
    Rule(Kind.LICENCE_TYPE_PUBLISHED, record_pb2.LicenceType, "the national node or a province",
         "licence types (证照类型), published downward like matters",
         ("licence-type-publisher",), _licence_type),
    Rule(Kind.SUPERVISION_NOTICE, record_pb2.SupervisionNotice,
         "a strict ancestor of the case's owner", "a case, addressed to its owner",
         ("supervision-ancestor", "supervision-recipient"), _supervision_notice),
    Rule(Kind.SUPERVISION_REPLY, record_pb2.SupervisionReply, "the case's owner",
         "its own case, addressed to the notice's sender", ("case-owner", "reply-recipient"),
         _supervision_reply),
    Rule(Kind.EVALUATION, record_pb2.Evaluation, "the case's owner",
         "its own case; a paper card entered by an active staff member with the clerk role",
         ("case-owner", "staff-active", "staff-role"), _evaluation),
    Rule(Kind.EVALUATION_FOLLOW_UP, record_pb2.EvaluationFollowUp, "the case's owner",
         "its own case's 差评; the actor an active staff member with the supervisor role",
         ("case-owner", "staff-active", "staff-role"), _evaluation_follow_up),
    Rule(Kind.STAFF_REGISTERED, record_pb2.StaffMember, _OWN_LOG,
         "its own staff register (id, name, known roles)", ("staff-register",),
         _staff_registered),
    Rule(Kind.STAFF_DISABLED, record_pb2.StaffDisabled, _OWN_LOG,
         "a member of its own staff register", ("staff-register",), _staff_disabled),
    Rule(Kind.CROSS_REGION_LIST, record_pb2.CrossRegionList, f"the national node {NATIONAL}",
         "the 跨省通办 list, published downward", ("crossregion-list",), _cross_region_list),
    Rule(Kind.CROSS_REGION_STEP, record_pb2.CrossRegionStep,
         "the side of a 多地联办 case whose step it is",
         "a step of a case applied with a partner, addressed to the other side",
         ("joint-step",), _cross_region_step),
    Rule(Kind.BASE_ITEM_PUBLISHED, record_pb2.BaseItem, "the national node or a province",
         "base items (基本目录), published downward", ("base-publisher",), _base_item),
    Rule(Kind.CHANGE_REQUEST_ANSWERED, record_pb2.ChangeRequestAnswer,
         "a strict ancestor of the proposer", "a change request, addressed to its proposer",
         ("change-answer", "change-answer-once"), _change_answer),
)}


_DISPATCH = {kind: (rule.body.FromString, rule.check) for kind, rule in TABLE.items()}


def authorise(record: record_pb2.Record, facts: Facts) -> Message:
    """The record's parsed body when its origin may write it; else AuthorityViolation.

    A body that does not parse as its kind breaks rule ``body-parse``; a kind
    this version does not know raises UnknownKind (rule ``unknown-kind``).
    """
    found = _DISPATCH.get(record.kind)
    if found is None:
        raise UnknownKind(record.kind)
    parse, check = found
    try:
        body = parse(record.body)
    except DecodeError as exc:
        raise AuthorityViolation("body-parse", f"record {record.origin}#{record.seq} of kind "
                                 f"{Kind.Name(record.kind)} has a body that does not parse "
                                 f"({exc})") from exc
    try:
        check(record, body, facts)
    except AuthorityViolation:
        raise
    except Error as exc:  # a licence number, seal or revocation that does not parse
        raise AuthorityViolation("body-parse", f"record {record.origin}#{record.seq}: "
                                 f"{exc.diagnostics()}") from exc
    return body


# --- the audit's side: sync.contract.RecordPolicy --------------------------------------------


@dataclass
class _OriginFacts:
    """Facts learnt from one origin's log, read in sequence order (the audit's Facts)."""

    #: what every apply read so far says of its case, in every log and delivery (shared)
    crossings: dict[str, tuple[str, str]]
    staff: dict[str, Staff] = field(default_factory=dict)
    reviewers: dict[str, str] = field(default_factory=dict)
    answered: set[tuple[str, int]] = field(default_factory=set)

    def staff_member(self, origin: str, staff_id: str) -> Staff | None:
        return self.staff.get(staff_id)

    def reviewer_of(self, case_no: str) -> str | None:
        return self.reviewers.get(case_no)

    def cross_region_of(self, case_no: str) -> tuple[str, str] | None:
        return self.crossings.get(case_no, UNSEEN)

    def has_answered(self, origin: str, request_origin: str, request_seq: int) -> bool:
        return (request_origin, request_seq) in self.answered

    def learn(self, record: record_pb2.Record, body: Message) -> None:
        if isinstance(body, record_pb2.CaseEvent):
            action = body.action
            if action == "review":
                self.reviewers[body.case_no] = body.actor
            elif action == "decide":
                self.reviewers.pop(body.case_no, None)
        elif isinstance(body, record_pb2.StaffMember):
            self.staff[body.staff_id] = Staff(body.staff_id, body.name, frozenset(body.roles),
                                              True)
        elif isinstance(body, record_pb2.StaffDisabled):
            old = self.staff[body.staff_id]
            self.staff[body.staff_id] = Staff(old.staff_id, old.name, old.roles, False)
        elif isinstance(body, record_pb2.ChangeRequestAnswer):
            self.answered.add((body.request_origin, body.request_seq))


@dataclass
class _Unknown:
    """Facts for a log read from the middle (a bundle batch): the staff rules cannot be
    judged without the records before it, so they are not: every actor passes."""

    crossings: dict[str, tuple[str, str]]

    def staff_member(self, origin: str, staff_id: str) -> Staff | None:
        return Staff(staff_id, staff_id, frozenset(ROLES), True)

    def reviewer_of(self, case_no: str) -> str | None:
        return None

    def cross_region_of(self, case_no: str) -> tuple[str, str] | None:
        return self.crossings.get(case_no, UNSEEN)

    def has_answered(self, origin: str, request_origin: str, request_seq: int) -> bool:
        return False


def crossing(apply: record_pb2.CaseEvent) -> tuple[str, str]:
    """What ``Facts.cross_region_of`` answers for the case this apply opened."""
    if apply.handled_by:
        return "handler", apply.handled_by
    if apply.joint_with:
        return "partner", apply.joint_with
    return "", ""


_CASE_EVENT = record_pb2.CASE_EVENT  # a plain int: Kind.X goes through the enum wrapper
_STEP = record_pb2.CROSS_REGION_STEP
_STAFF_RULES = frozenset({"staff-active", "staff-role", "review-and-decide"})
_STATEFUL = frozenset({_CASE_EVENT, record_pb2.STAFF_REGISTERED, record_pb2.STAFF_DISABLED,
                       record_pb2.CHANGE_REQUEST_ANSWERED})
#: the case events _OriginFacts.learn remembers something of
_LEARNT_ACTIONS = frozenset({"review", "decide"})


class AuditPolicy:
    """The authority table for ``tongban audit verify`` (sync.contract.RecordPolicy).

    A handler's event or a 联办 step needs the case's apply, which lies in another
    log (or in a delivery) that the audit may read later. Such a record is judged
    statelessly when read (its action, side and addressee) and kept; ``finish``
    judges it again once every log and delivery is read, so the verdict does not
    depend on the order the audit reads logs in. Only the records whose apply is
    not held keep the stateless verdict.

    Only applies that name another node are remembered (a national audit reads
    millions of ordinary ones); a kept record about an ordinary case finds its apply
    at the position its case number names (``case_number``), through ``held``.
    """

    def __init__(self) -> None:
        self._crossings: dict[str, tuple[str, str]] = {}
        #: handler events and steps read before their case's apply: the record, its parsed
        #: body and the staff rule it broke when read (None if none)
        self._deferred: list[tuple[record_pb2.Record, Any, tuple[str, str] | None]] = []

    def reader(self, origin: str, first_seq: int
               ) -> Callable[[record_pb2.Record], tuple[str, str] | None]:
        crossings = self._crossings
        facts: _OriginFacts | _Unknown = (_OriginFacts(crossings) if first_seq == 0
                                          else _Unknown(crossings))
        learn = facts.learn if isinstance(facts, _OriginFacts) else None
        deferred = self._deferred

        def check(record: record_pb2.Record) -> tuple[str, str] | None:
            body: Any
            try:
                body = authorise(record, facts)
            except AuthorityViolation as exc:
                if exc.rule in _STAFF_RULES and record.kind == _CASE_EVENT:
                    event = record_pb2.CaseEvent.FromString(record.body)  # parsed already once
                    if _awaits_apply(record, event, crossings):
                        # the case rules come first, as in the projection: the staff verdict
                        # stands only if the apply, once read, shows no case rule broken
                        deferred.append((record, event, (exc.rule, str(exc))))
                        return None
                return exc.rule, str(exc)
            kind = record.kind
            if kind == _CASE_EVENT:  # _awaits_apply and learn inlined: this runs per record
                case_no, action = body.case_no, body.action
                if action == "apply":
                    if body.handled_by or body.joint_with:
                        crossings[case_no] = crossing(body)
                elif case_no not in crossings and not case_no.startswith(record.origin + "-"):
                    deferred.append((record, body, None))
                if learn is not None and action in _LEARNT_ACTIONS:
                    learn(record, body)
                return None
            if kind == _STEP and body.case_no not in crossings:
                deferred.append((record, body, None))
            if learn is not None and kind in _STATEFUL:
                learn(record, body)
            return None

        return check

    def learn(self, record: record_pb2.Record) -> None:
        """A record read outside the logs judged (a verified delivery): its apply counts."""
        if record.kind != _CASE_EVENT:
            return
        try:
            body = record_pb2.CaseEvent.FromString(record.body)
        except DecodeError:
            return
        if body.action == "apply" and body.case_no.startswith(record.origin + "-") \
                and (body.handled_by or body.joint_with):
            self._crossings.setdefault(body.case_no, crossing(body))

    def finish(self, held: Callable[[str, int], bytes | None]
               ) -> list[tuple[str, int, str, str]]:
        """(origin, seq, rule, message) for each kept record that its case's apply, read
        after it or found through ``held`` (the record bytes at an origin and seq, or
        None), shows its origin could not write."""
        facts = _Unknown(self._crossings)  # staff rules were judged when the record was read
        found = []
        for record, body, staff_verdict in self._deferred:
            verdict = staff_verdict
            if body.case_no not in self._crossings:
                self._ordinary_apply(body.case_no, held)
            if body.case_no in self._crossings:
                try:
                    if record.kind == _CASE_EVENT:
                        _handler_event(record, body, facts)
                    else:
                        _cross_region_step(record, body, facts)
                except AuthorityViolation as exc:
                    verdict = (exc.rule, str(exc))
            if verdict is not None:
                found.append((record.origin, record.seq, *verdict))
        self._deferred.clear()
        return found


    def _ordinary_apply(self, case_no: str, held: Callable[[str, int], bytes | None]) -> None:
        """Note the case's apply if it is held where its number says and names no other node
        (a crossing apply was noted when it was read)."""
        position = apply_position(case_no)
        data = held(*position) if position else None
        if data is None:
            return
        try:
            record = record_pb2.Record.FromString(data)
            body = record_pb2.CaseEvent.FromString(record.body)
        except DecodeError:
            return
        if record.kind == _CASE_EVENT and body.action == "apply" and body.case_no == case_no:
            self._crossings[case_no] = crossing(body)


def _awaits_apply(record: record_pb2.Record, body: Any, crossings: dict) -> bool:
    """Whether judging ``record`` needs its case's apply, not read yet: an event on another
    node's case (a handler's), or a 联办 step."""
    if body.case_no in crossings:
        return False
    return record.kind == _STEP or not body.case_no.startswith(record.origin + "-")
