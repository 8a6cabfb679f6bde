"""Which divisions a reporting command looks at: the node itself, or its whole subtree."""

from __future__ import annotations

from pki.division import in_subtree


def in_scope(me: str, division: str, subtree: bool) -> bool:
    """True for the node's own division, and with ``subtree`` for any division below it."""
    return division == me or (subtree and in_subtree(me, division))
