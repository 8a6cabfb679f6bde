"""The matters (事项) a node has published: publish new versions, retire, look up.

Each item is checked with node.catalogue_file.parse_matter (whether it came
from a file or the command line); this module owns versions and look-ups.

Publishing an item whose content is unchanged writes nothing, so importing the
same catalogue file twice is harmless; a changed item becomes a new version and
cases keep the version they were opened under.

An item's identity is (publisher, code): the ``matters`` table is keyed by
(origin, impl_code, version), and the authority table binds a code's namespace
to its publisher's division, so two nodes' items never overwrite each other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.json_format import ParseDict

from node.catalogue_file import parse_matter
from node.licence_types import known_types
from node.store import Draft, NodeStore
from pki.errors import InputError
from protos.tongban.v1 import record_pb2


class MatterError(InputError):
    pass


@dataclass
class PublishResult:
    code: str
    version: int
    status: str  # "new", "changed" or "unchanged"


def _stored(db: sqlite3.Connection, code: str, version: int | None,
            publisher: str | None = None) -> tuple[record_pb2.Matter, bool] | None:
    query = "SELECT data, retired FROM matters WHERE impl_code = ?"
    params: tuple = (code,)
    if publisher is not None:
        query += " AND origin = ?"
        params += (publisher,)
    if version is not None:
        query += " AND version = ?"
        params += (version,)
    row = db.execute(query + " ORDER BY version DESC LIMIT 1", params).fetchone()
    if row is None:
        return None
    return ParseDict(json.loads(row[0]), record_pb2.Matter()), bool(row[1])


#: Versions are uint32 in the Matter record.
MAX_VERSION = 2**32 - 1


def current_matter(db: sqlite3.Connection, code: str, version: int | None = None,
                   *, allow_retired: bool = False) -> record_pb2.Matter:
    """The newest (or a given) version of a matter, or a MatterError naming the code."""
    if version is not None and not 1 <= version <= MAX_VERSION:
        raise MatterError(f"bad version {version}: want 1-{MAX_VERSION}")
    found = _stored(db, code, version)
    if found is None:
        raise MatterError(f"unknown matter {code}: see 'tongban matter list'")
    matter, retired = found
    if retired and not allow_retired:
        raise MatterError(f"matter {code} is retired and takes no new cases")
    return matter


def publish(store: NodeStore, items: list[dict]) -> list[PublishResult]:
    """Validate every item first; write all changed ones in one transaction, or none."""
    results: list[PublishResult] = []
    drafts: list[Draft] = []
    seen: dict[str, record_pb2.Matter] = {}
    candidates = [parse_matter(item, types=known_types(store.db)) for item in items]
    for candidate in candidates:
        if candidate.impl_code in seen:
            raise MatterError(f"matter {candidate.impl_code} appears twice in the input")
        seen[candidate.impl_code] = candidate
    for candidate in candidates:
        if candidate.theme_members:
            check_theme(candidate, lambda code: seen.get(code) or current_matter(store.db, code))
    for candidate in candidates:
        code = candidate.impl_code
        existing = _stored(store.db, code, None, store.division)
        if existing is not None:
            old, retired = existing
            candidate.version = old.version
            if candidate == old and not retired:
                results.append(PublishResult(code, old.version, "unchanged"))
                continue
            candidate.version = old.version + 1
            status = "changed"
        else:
            candidate.version = 1
            status = "new"
        data = candidate.SerializeToString()
        drafts.append(Draft.of_body(record_pb2.MATTER_PUBLISHED, data))
        results.append(PublishResult(code, candidate.version, status))
    if drafts:
        store.write(drafts)
    return results


def check_theme(theme: record_pb2.Matter,
                member_of: Callable[[str], record_pb2.Matter]) -> None:
    """A theme (一件事) and its members: each member a current matter that is no theme;
    the merged list holds every member's required materials and nothing no member asks
    for; the theme's promised limit within every member's legal limit."""
    where = f"matter {theme.impl_code} (一件事)"
    named: set[str] = set()
    for code in theme.theme_members:
        try:
            member = member_of(code)
        except MatterError as exc:
            raise MatterError(f"{where}: theme_members {exc}") from exc
        if member.theme_members:
            raise MatterError(f"{where}: member {code} is itself a theme")
        mine = {m.name for m in member.materials}
        named |= mine
        lacking = [m.name for m in member.materials if m.required
                   and m.name not in {t.name for t in theme.materials}]
        if lacking:
            raise MatterError(f"{where}: materials lack {', '.join(lacking)}, required by "
                              f"member {code}")
        if theme.promised_limit_days > member.legal_limit_days:
            raise MatterError(f"{where}: promised_limit_days {theme.promised_limit_days} "
                              f"exceeds member {code}'s legal limit {member.legal_limit_days}")
    extra = [m.name for m in theme.materials if m.name not in named]
    if extra:
        raise MatterError(f"{where}: materials {', '.join(extra)} belong to no member (a "
                          "theme asks for nothing its members do not: 不得额外增加)")


def publisher(db: sqlite3.Connection, code: str) -> str | None:
    """The node that published ``code`` (the namespace rule makes it one node), or None."""
    row = db.execute("SELECT origin FROM matters WHERE impl_code = ? LIMIT 1", (code,)).fetchone()
    return row[0] if row else None


def retire(store: NodeStore, code: str, reason: str) -> record_pb2.Matter:
    matter = current_matter(store.db, code)
    body = record_pb2.MatterRetired(impl_code=code, version=matter.version, reason=reason)
    data = body.SerializeToString()
    store.write([Draft(record_pb2.MATTER_RETIRED, lambda _s, _h: data)])
    return matter


def list_matters(db: sqlite3.Connection, include_retired: bool = False) -> list[dict]:
    rows = db.execute(
        "SELECT origin, impl_code, max(version), name, type, promised_limit_days,"
        " legal_limit_days, retired FROM matters GROUP BY origin, impl_code"
        " ORDER BY impl_code, origin"
    ).fetchall()
    out = [
        {"publisher": origin, "code": code, "version": version, "name": name, "type": type_,
         "promised_limit_days": promised, "legal_limit_days": legal, "retired": bool(retired)}
        for origin, code, version, name, type_, promised, legal, retired in rows
    ]
    return [m for m in out if include_retired or not m["retired"]]
