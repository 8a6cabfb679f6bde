"""Who may author the supervision and 好差评 record kinds (20–29), in one place.

The ownership rule (DESIGN.md) says a case belongs to the node whose division
leads its number. Supervision is the one planned exception: an ancestor speaks
about a case it does not own, and may only address the owner. Everything else
about a case — its evaluations, the 差评 follow-ups, the replies to 督办 — is
the owner's to write. Issue 10 gathers every kind's rule into one authority
table; this function is the whole rule for these kinds, so it moves there as
it stands.
"""

from __future__ import annotations

from pki.division import is_ancestor
from protos.tongban.v1 import record_pb2

Kind = record_pb2.Kind


def case_owner(case_no: str) -> str:
    """The division that owns a case: the part of its number before the first dash."""
    return case_no.split("-", 1)[0]


def oversight_author_problem(kind: Kind, origin: str, recipient: str, case_no: str,
                             answered_origin: str = "") -> str | None:
    """None when ``origin`` may write this record; otherwise the rule it breaks, in words.

    ``answered_origin`` is the sender of the 督办 notice a reply answers.
    """
    owner = case_owner(case_no)
    if kind == Kind.SUPERVISION_NOTICE:
        if not is_ancestor(origin, owner):
            return (f"case {case_no} belongs to {owner}; only its ancestors may send a "
                    f"督办 notice about it, and {origin} is not one")
        if recipient != owner:
            return (f"a 督办 notice about case {case_no} must be addressed to its owner "
                    f"{owner}, not to {recipient or 'nobody'}")
        return None
    if kind in (Kind.SUPERVISION_REPLY, Kind.EVALUATION, Kind.EVALUATION_FOLLOW_UP):
        if origin != owner:
            what = {Kind.SUPERVISION_REPLY: "answer a 督办 notice about it",
                    Kind.EVALUATION: "record its evaluation",
                    Kind.EVALUATION_FOLLOW_UP: "follow up its 差评"}[kind]
            return f"case {case_no} belongs to {owner}; {origin} may not {what}"
        if kind == Kind.SUPERVISION_REPLY and recipient != answered_origin:
            return (f"a reply about case {case_no} must be addressed to the notice's sender "
                    f"{answered_origin}, not to {recipient or 'nobody'}")
        return None
    raise ValueError(f"kind {kind} is not a supervision or evaluation kind")
