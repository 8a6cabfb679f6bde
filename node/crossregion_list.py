"""The 跨省通办 list as data: which entry a matter code names, and whether a hand-over fits.

Pure functions over one CrossRegionList, so the window's write (node.crossregion)
and the projection of a received hand-over (node.projection) judge by the same
code. A received hand-over is judged against the list version it names
(``CaseEvent.list_version``), not the newest one held: the verdict must be the
same at every node and after every rebuild, whichever versions arrived first.
"""

from __future__ import annotations

from dataclasses import dataclass

from pki.errors import InputError
from protos.tongban.v1 import record_pb2


class ListError(InputError):
    """A matter or hand-over the 跨省通办 list does not allow."""


@dataclass(frozen=True)
class Listed:
    """One list entry as a case is opened with it: the item and the handler's part."""

    version: int
    item: record_pb2.CrossRegionItem
    implementer: record_pb2.CrossRegionImplementer


def find(listing: record_pb2.CrossRegionList, code: str, division: str) -> Listed:
    """The entry for matter ``code`` (base or implementation code) at ``division``."""
    for item in listing.items:
        codes = {item.base_code, *(i.impl_code for i in item.implementers)}
        if code not in codes:
            continue
        for implementer in item.implementers:
            if implementer.division == division:
                return Listed(listing.version, item, implementer)
        names = ", ".join(i.division for i in item.implementers)
        raise ListError(f"{division} does not implement matter {code} ({item.name}); on the "
                        f"跨省通办 list it is implemented by {names}")
    raise ListError(f"matter {code} is not on the 跨省通办 list (version {listing.version}); "
                    "see 'tongban crossregion list'")


def judge_hand_over(listing: record_pb2.CrossRegionList, apply: record_pb2.CaseEvent,
                    receiver: str) -> None:
    """Raise ListError unless ``apply`` (at ``receiver``) is what the list allows: the matter
    on it, implemented by the handler (代收代办) or by both sides (多地联办), with the
    list's limit and only its materials."""
    case = apply.case_no
    if apply.handled_by:
        entry = find(listing, apply.matter_code, apply.handled_by)
        if entry.item.steps:
            raise ListError(f"case {case}: matter {apply.matter_code} is handled jointly "
                            "(多地联办), not handed over")
    else:
        entry = find(listing, apply.matter_code, receiver)
        find(listing, apply.matter_code, apply.joint_with)
        if not entry.item.steps:
            raise ListError(f"case {case}: matter {apply.matter_code} has no 联办 steps on "
                            f"the 跨省通办 list (version {listing.version})")
    if apply.matter_code != entry.implementer.impl_code:
        raise ListError(f"case {case} names matter {apply.matter_code}; the list's code at "
                        f"{entry.implementer.division} is {entry.implementer.impl_code}")
    if apply.limit_days != entry.implementer.promised_limit_days:
        raise ListError(f"case {case} promises {apply.limit_days} working days; the 跨省通办 "
                        f"list (version {listing.version}) says "
                        f"{entry.implementer.promised_limit_days}")
    unknown = sorted(set(apply.materials) - set(entry.implementer.materials))
    if unknown:
        raise ListError(f"case {case} collected {', '.join(unknown)}, which the 跨省通办 list "
                        f"(version {listing.version}) does not name for "
                        f"{entry.implementer.division}")
