"""The staff register (人员): who may act on this node's cases, with which roles.

Kept as records in the node's own log (kinds 30–31), so the register
replicates and audits like everything else, and every node judges a case
event's actor against the register as it stood at that point of the owner's
log (node.authority, rules staff-active, staff-role, review-and-decide).

What is authenticated, and what is not: the node authenticates the *machine*
(its key signs every record); people log in to that machine with the
operating system's own login, and ``--actor`` names a staff ID the register
must hold with the role the action needs. tongban records the OS login that
ran each command beside the actor (CaseEvent.os_login) but cannot check that
the person typing is the staff member named. Stronger login (a USB key per
person, signing each event) is future work.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass

from node.authority import ROLES
from node.home import Config
from node.store import Draft, NodeStore
from pki.errors import InputError
from protos.tongban.v1 import record_pb2


class StaffError(InputError):
    pass


@dataclass(frozen=True)
class Member:
    staff_id: str
    name: str
    roles: list[str]
    active: bool

    def to_dict(self) -> dict:
        return vars(self)


def os_login() -> str:
    """The operating-system login running this process, recorded beside the actor."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): say so rather than guess
        return "(unknown)"


def one_person_office(config: Config) -> bool:
    """``[staff] one_person_office = true``: one person may both review and decide a case."""
    return config.staff_one_person_office


def add(store: NodeStore, staff_id: str, name: str, roles: list[str]) -> Member:
    """Register a staff member, or change their name and roles (and make them active)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise StaffError(f"roles {', '.join(unknown) or '(none)'}: want one or more of "
                         f"{', '.join(ROLES)}")
    if not staff_id.strip() or not name.strip():
        raise StaffError("a staff member needs an --id and a --name")
    body = record_pb2.StaffMember(staff_id=staff_id.strip(), name=name.strip(),
                                  roles=sorted(set(roles))).SerializeToString()
    store.write([Draft(record_pb2.STAFF_REGISTERED, lambda _s, _h: body)])
    return _require(store, staff_id.strip())


def disable(store: NodeStore, staff_id: str, reason: str) -> Member:
    """Take a member off duty: their later case events are refused everywhere."""
    member = _require(store, staff_id)
    if not member.active:
        raise StaffError(f"staff member {staff_id} of {store.division} is already disabled")
    body = record_pb2.StaffDisabled(staff_id=staff_id, reason=reason).SerializeToString()
    store.write([Draft(record_pb2.STAFF_DISABLED, lambda _s, _h: body)])
    return _require(store, staff_id)


def members(store: NodeStore, *, include_disabled: bool = False) -> list[Member]:
    """This node's own register, by staff ID."""
    rows = store.db.execute("SELECT staff_id, name, roles, active FROM staff WHERE origin = ?"
                            " ORDER BY staff_id", (store.division,))
    found = [Member(i, n, json.loads(r), bool(a)) for i, n, r, a in rows]
    return [m for m in found if include_disabled or m.active]


def _require(store: NodeStore, staff_id: str) -> Member:
    for member in members(store, include_disabled=True):
        if member.staff_id == staff_id:
            return member
    raise StaffError(f"no staff member {staff_id} on {store.division}'s register: see "
                     "'tongban staff list'")
