"""Projections: the queryable tables derived from the log.

The log tables are the truth. Every table here is rebuilt from the log by
``tongban db rebuild`` and must come out identical, so ``apply`` may depend
only on the record and on tables it itself maintains, never on the wall clock.
A case's state depends on its own events alone (the apply event carries the
matter's time limit), so records from many origins can be projected in the
order they arrived.

Every record is judged by the authority table (node.authority) before it is
applied: an own write that breaks a rule is refused; a received one stays in
the log and is kept in ``authority_violations`` instead of being applied.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import operator
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from google.protobuf.json_format import MessageToDict

from node import base_check, crossregion_list, licence_projection, workflow
from node.authority import ROLES, AuthorityViolation, Staff, authorise, case_owner, crossing
from node.workdays import Calendar, date_of_ms
from pki.division import NATIONAL, ancestors, in_subtree, is_ancestor, subtree_prefix
from pki.errors import InputError
from protos.tongban.v1 import record_pb2
from sync.records import hlc_ms

Kind = record_pb2.Kind

#: Layout of the projection tables; a node opened with an older layout rebuilds them.
#: 11: case_events clustered on (case_no, hlc, origin, seq), no rowid (45 B a record less);
#: 9: calendar_overrides per publisher (origin, day), calendars per case owner; 8 added
#: the cross-region tables.
SCHEMA = 11

PROJECTION_TABLES = (
    "matters",
    "cases",
    "case_events",
    "calendar_overrides",
    "revocations",
    "certificates",
    "notices",
    "projection_errors",
    "authority_violations",
    "staff",
    "addressed",
    *licence_projection.TABLES,
    "supervision_notices",
    "supervision_replies",
    "evaluations",
    "evaluation_follow_ups",
    "handovers",
    "crossing_parties",
    "crossregion_events",
    "crossregion_lists",
    "crossregion_unjudged",
    "joint_steps",
    "theme_members",
    "base_items",
    "change_requests",
    "change_answers",
)

#: The 差评 closed loop of 国办发〔2019〕51号, in order: 回访核实, 整改, 反馈.
FOLLOW_UP_STEPS = ("verify", "rectify", "feedback")


#: A record's HLC is a uint64, SQLite's INTEGER an int64: times past about year 6400 (only
#: ever from a broken clock, and flagged) sort as that year, ties by (origin, seq).
_SQLITE_MAX_INT = 2**63 - 1
_CASE_FIELDS = [f.name for f in dataclasses.fields(workflow.CaseState)]
_CASE_JSON_FIELDS = {"materials", "owed", "requested", "committed"}
_CASE_BOOL_FIELDS = {"decide_with_owed", "theme"}
#: Cases kept in memory between flushes; past it the cache is dropped. It bounds a
#: rebuild's memory (100,000 took 234 MB at 10^6 records, bench_national), and the
#: events of one case, which arrive close together in a log, still hit it.
_CASE_CACHE_LIMIT = 20_000
#: Staff register entries kept between flushes; past it they are dropped, as each is one
#: lookup by key away. A national node judges every county's staff: unbounded, 156,000
#: entries held 110 MB of the 278 MB peak of a 10^6-record rebuild (bench_national).
_STAFF_CACHE_LIMIT = 20_000


def create_tables(db: sqlite3.Connection) -> None:
    case_columns = ", ".join(
        f"{name} {'TEXT PRIMARY KEY' if name == 'case_no' else ''}".strip() for name in _CASE_FIELDS
    )
    script = (
        f"""
        CREATE TABLE IF NOT EXISTS matters (
            impl_code TEXT NOT NULL, version INTEGER NOT NULL, origin TEXT NOT NULL,
            seq INTEGER NOT NULL, base_code TEXT, name TEXT, type TEXT,
            promised_limit_days INTEGER, legal_limit_days INTEGER, retired INTEGER NOT NULL,
            retire_reason TEXT, published_ms INTEGER, data TEXT NOT NULL,
            PRIMARY KEY (origin, impl_code, version));
        CREATE TABLE IF NOT EXISTS cases ({case_columns}, origin TEXT NOT NULL,
            due_day TEXT, owed_due_day TEXT);
        CREATE TABLE IF NOT EXISTS theme_members (
            theme_case TEXT NOT NULL, member_case TEXT NOT NULL, matter_code TEXT NOT NULL,
            origin TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (theme_case, member_case));
        CREATE TABLE IF NOT EXISTS case_events (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, case_no TEXT NOT NULL,
            at_ms INTEGER NOT NULL, action TEXT NOT NULL, actor TEXT, state_after TEXT NOT NULL,
            hlc INTEGER NOT NULL, os_login TEXT, PRIMARY KEY (case_no, hlc, origin, seq))
            WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS calendar_overrides (
            origin TEXT NOT NULL, day TEXT NOT NULL, workday INTEGER NOT NULL,
            seq INTEGER NOT NULL, PRIMARY KEY (origin, day));
        CREATE TABLE IF NOT EXISTS revocations (
            origin TEXT NOT NULL, serial_hex TEXT NOT NULL, reason TEXT,
            revoked_at_ms INTEGER NOT NULL, seq INTEGER NOT NULL,
            PRIMARY KEY (origin, serial_hex));
        CREATE TABLE IF NOT EXISTS certificates (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, der BLOB NOT NULL,
            PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS addressed (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, recipient TEXT NOT NULL,
            kind INTEGER NOT NULL, PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS projection_errors (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, error TEXT NOT NULL,
            PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS authority_violations (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,
            rule TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS staff (
            origin TEXT NOT NULL, staff_id TEXT NOT NULL, name TEXT NOT NULL,
            roles TEXT NOT NULL, active INTEGER NOT NULL, seq INTEGER NOT NULL,
            PRIMARY KEY (origin, staff_id));
        CREATE TABLE IF NOT EXISTS notices (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, recipient TEXT NOT NULL,
            at_ms INTEGER NOT NULL, title TEXT, text TEXT, PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS supervision_notices (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, case_no TEXT NOT NULL,
            owner TEXT NOT NULL, at_ms INTEGER NOT NULL, text TEXT NOT NULL,
            due_days INTEGER NOT NULL, PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS supervision_replies (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, notice_origin TEXT NOT NULL,
            notice_seq INTEGER NOT NULL, case_no TEXT NOT NULL, at_ms INTEGER NOT NULL,
            text TEXT NOT NULL, PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS evaluations (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, case_no TEXT NOT NULL,
            level INTEGER NOT NULL, evaluator_kind TEXT NOT NULL, channel TEXT NOT NULL,
            evaluator TEXT NOT NULL, entered_by TEXT, comment TEXT, anonymous INTEGER NOT NULL,
            at_ms INTEGER NOT NULL, PRIMARY KEY (case_no, evaluator));
        CREATE TABLE IF NOT EXISTS handovers (
            case_no TEXT PRIMARY KEY, receiver TEXT NOT NULL, role TEXT NOT NULL,
            other TEXT NOT NULL, matter_code TEXT NOT NULL, submitted_ms INTEGER NOT NULL,
            arrived_ms INTEGER, answered_ms INTEGER, answer TEXT, accepted_ms INTEGER);
        CREATE TABLE IF NOT EXISTS crossing_parties (
            case_no TEXT PRIMARY KEY, role TEXT NOT NULL, other TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS crossregion_events (
            case_no TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,
            hlc INTEGER NOT NULL, PRIMARY KEY (origin, seq));
        CREATE INDEX IF NOT EXISTS crossregion_events_case ON crossregion_events(case_no, hlc);
        CREATE TABLE IF NOT EXISTS crossregion_lists (
            version INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,
            at_ms INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS crossregion_unjudged (
            case_no TEXT PRIMARY KEY, list_version INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS crossregion_unjudged_version
            ON crossregion_unjudged(list_version);
        CREATE TABLE IF NOT EXISTS joint_steps (
            case_no TEXT NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, side TEXT NOT NULL,
            origin TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, actor TEXT,
            text TEXT, PRIMARY KEY (case_no, idx));
        CREATE TABLE IF NOT EXISTS base_items (
            origin TEXT NOT NULL, base_code TEXT NOT NULL, version INTEGER NOT NULL,
            seq INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
            legal_basis TEXT NOT NULL, levels TEXT NOT NULL, main_item TEXT, sub_item TEXT,
            retired INTEGER NOT NULL, reason TEXT, published_ms INTEGER NOT NULL,
            PRIMARY KEY (origin, base_code, version));
        CREATE TABLE IF NOT EXISTS change_requests (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, recipient TEXT NOT NULL,
            at_ms INTEGER NOT NULL, base_code TEXT NOT NULL, retire INTEGER NOT NULL,
            impl_code TEXT, reason TEXT, PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS change_answers (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, request_origin TEXT NOT NULL,
            request_seq INTEGER NOT NULL, approve INTEGER NOT NULL, reason TEXT,
            base_code TEXT, base_version INTEGER, at_ms INTEGER NOT NULL,
            PRIMARY KEY (origin, seq));
        CREATE TABLE IF NOT EXISTS evaluation_follow_ups (
            origin TEXT NOT NULL, seq INTEGER NOT NULL, evaluation_origin TEXT NOT NULL,
            evaluation_seq INTEGER NOT NULL, case_no TEXT NOT NULL, step TEXT NOT NULL,
            text TEXT NOT NULL, actor TEXT, at_ms INTEGER NOT NULL, PRIMARY KEY (origin, seq));
        """
    )
    # executescript would COMMIT the caller's transaction (rebuild runs inside one).
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
    licence_projection.create_tables(db)


_INDEXES = (
    "CREATE INDEX IF NOT EXISTS cases_state ON cases(state, case_no)",
    # deadline lists (case list --overdue/--due-soon) read only the cases they return
    "CREATE INDEX IF NOT EXISTS cases_due ON cases(due_day) WHERE due_day IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS cases_paused ON cases(case_no) WHERE paused_since_ms IS NOT NULL",
    # 容缺 materials and 告知承诺 核查 past due (case list --overdue, supervision)
    "CREATE INDEX IF NOT EXISTS cases_owed_due ON cases(owed_due_day)"
    " WHERE owed_due_day IS NOT NULL",
    # statistics read only these two actions of every case (node.stats)
    "CREATE INDEX IF NOT EXISTS case_events_milestones ON case_events(case_no, action, at_ms)"
    " WHERE action IN ('conclude', 'request-supplement')",
)


def create_indexes(db: sqlite3.Connection) -> None:
    """Secondary indexes; rebuild adds them after the bulk load, which is faster."""
    for statement in _INDEXES:
        db.execute(statement)


def drop_tables(db: sqlite3.Connection) -> None:
    for table in PROJECTION_TABLES:
        db.execute(f"DROP TABLE IF EXISTS {table}")


def overrides_for(db: sqlite3.Connection, division: str) -> dict[str, tuple[bool, str]]:
    """Days the calendar notices applying to ``division`` set: day -> (workday, publisher).

    A notice counts in its publisher's own subtree only, so the notices that
    apply are those of ``division`` and its ancestors; on a day two of them
    set, the nearest publisher wins (a prefecture over its province, a
    province over the national node), and of one publisher the latest notice.
    """
    chain = [*reversed(ancestors(division)), division]  # national first, nearest last
    marks = ", ".join("?" for _ in chain)
    depth = {code: i for i, code in enumerate(chain)}
    days: dict[str, tuple[bool, str]] = {}
    for origin, day, workday in sorted(
            db.execute(f"SELECT origin, day, workday FROM calendar_overrides"
                       f" WHERE origin IN ({marks})", chain).fetchall(),
            key=lambda row: depth[row[0]]):
        days[day] = (bool(workday), origin)
    return days


def calendar_for(db: sqlite3.Connection, division: str) -> Calendar:
    """The working-day calendar that applies to ``division``: the national calendar
    (chinese_calendar) with the notices of ``division`` and its ancestors on top,
    nearest first. Every deadline of a case counts on its owner's calendar."""
    return _calendar(overrides_for(db, division))


def _calendar(days: dict[str, tuple[bool, str]]) -> Calendar:
    return Calendar([(date.fromisoformat(day), workday) for day, (workday, _) in days.items()])


class Calendars:
    """``calendar_for`` kept per division for one reader or one projector batch.

    A node above the counties holds cases of many owners; their calendars differ
    only where a publisher's subtree begins, so owners with the same days share
    one Calendar object (and whatever a reader builds on it, such as a day index).
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._by_division: dict[str, Calendar] = {}
        self._by_days: dict[frozenset[tuple[str, bool]], Calendar] = {}

    def __call__(self, division: str) -> Calendar:
        found = self._by_division.get(division)
        if found is None:
            days = overrides_for(self.db, division)
            key = frozenset((day, workday) for day, (workday, _) in days.items())
            found = self._by_days.get(key)
            if found is None:
                found = self._by_days[key] = _calendar(days)
            self._by_division[division] = found
        return found

    def clear(self) -> None:
        self._by_division.clear()
        self._by_days.clear()

    def distinct(self) -> list[Calendar]:
        """Every calendar that applies to some division: the national one and that of each
        publisher (a division's calendar is that of its nearest publishing ancestor)."""
        publishers = [o for (o,) in self.db.execute(
            "SELECT DISTINCT origin FROM calendar_overrides ORDER BY origin")]
        return [self(code) for code in dict.fromkeys([NATIONAL, *publishers])]


#: sqlite3 binds None through its adapter lookup, at 0.29 µs seven times an integer's cost,
#: and a case row holds a dozen NULLs: a flush leaves a row's NULL columns out of its
#: INSERT (a column left out is NULL: none has a default), one statement per set of
#: columns present, and case events without an os_login are written with a NULL literal.
_NONE = itertools.repeat(None)


@functools.cache
def _case_insert(present: tuple[bool, ...]) -> str:
    """The INSERT of a case row that sets the columns ``present`` marks (a dozen sets)."""
    columns = list(itertools.compress([*_CASE_FIELDS, "origin", "due_day", "owed_due_day"],
                                      present))
    return (f"INSERT OR REPLACE INTO cases ({', '.join(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})")


#: json.dumps(..., ensure_ascii=False) builds this encoder anew on every call; a flush
#: encodes four containers per case, so it is built once (same output).
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
_JSON_AT = tuple(i for i, name in enumerate(_CASE_FIELDS) if name in _CASE_JSON_FIELDS)
_STATE_AT = _CASE_FIELDS.index("state")
_PREVIOUS_AT = _CASE_FIELDS.index("previous_state")


def case_to_row(state: workflow.CaseState) -> list:
    """Column values in ``_CASE_FIELDS`` order; containers as JSON (most are empty, and
    written without calling the encoder), StrEnum states as plain str so SQLite stores
    text."""
    fields = vars(state)
    row = [fields[name] for name in _CASE_FIELDS]
    for i in _JSON_AT:
        value = row[i]
        row[i] = _ENCODE(value) if value else "{}" if isinstance(value, dict) else "[]"
    row[_STATE_AT] = str(row[_STATE_AT])
    if row[_PREVIOUS_AT] is not None:
        row[_PREVIOUS_AT] = str(row[_PREVIOUS_AT])
    return row


def _decode(text: str) -> Any:
    return [] if text == "[]" else {} if text == "{}" else json.loads(text)


def row_to_case(row: sqlite3.Row | dict) -> workflow.CaseState:
    values = {name: row[name] for name in _CASE_FIELDS}
    for name in _CASE_JSON_FIELDS:
        values[name] = _decode(values[name])
    for name in _CASE_BOOL_FIELDS:
        values[name] = bool(values[name])
    values["state"] = workflow.State(values["state"])
    if values["previous_state"] is not None:
        values["previous_state"] = workflow.State(values["previous_state"])
    return workflow.CaseState(**values)


def indexed_due_day(state: workflow.CaseState, calendar: Calendar) -> str | None:
    """The ``cases.due_day`` column: the due date while the clock runs unpaused, else None.

    A paused case's date moves with every paused working day, so it is not
    indexed (``deadline_candidates`` finds those by ``paused_since_ms``); a closed
    case has no clock.
    """
    if state.paused_since_ms is not None or not workflow.clock_runs(state):
        return None
    due = workflow.due_date(state, calendar)
    return None if due is None else due.isoformat()


def owed_due_day(state: workflow.CaseState) -> str | None:
    """The ``cases.owed_due_day`` column: the earliest due day of a 容缺 material still owed
    or of a 告知承诺 核查 not yet recorded, else None."""
    dues = list(state.owed.values())
    if state.check_due_ms is not None and state.check_result is None:
        dues.append(state.check_due_ms)
    return date_of_ms(min(dues)).isoformat() if dues else None


def theme_members(db: sqlite3.Connection, theme_case: str) -> list[workflow.CaseState]:
    """The member cases of a 一件事 theme case, in the order they were opened."""
    found = []
    for (member,) in db.execute("SELECT member_case FROM theme_members WHERE theme_case = ?"
                                " ORDER BY seq", (theme_case,)):
        case = load_case(db, member)
        if case is not None:
            found.append(case)
    return found


def iter_cases(db: sqlite3.Connection, state: str | None = None, *, after: str | None = None,
               limit: int | None = None) -> Iterator[workflow.CaseState]:
    """Cases in case-number order, from the one after ``after``, at most ``limit``."""
    where: list[str] = []
    params: list[object] = []
    if state:
        where.append("state = ?")
        params.append(state)
    if after:
        where.append("case_no > ?")
        params.append(after)
    query = f"SELECT {', '.join(_CASE_FIELDS)} FROM cases"
    if where:
        query += " WHERE " + " AND ".join(where)
    query += " ORDER BY case_no"
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    for row in db.execute(query, params):
        yield row_to_case(dict(zip(_CASE_FIELDS, row, strict=True)))


def deadline_candidates(db: sqlite3.Connection, before: date, since: date | None = None,
                        owed_before: date | None = None) -> list[str]:
    """Case numbers, in order, of the cases a deadline filter must look at: unpaused cases
    due in [since, before), cases whose clock is paused (特别程序, 补正 after acceptance)
    and, with ``owed_before``, cases owing a 容缺 material or a 核查 due before it. Each
    comes from its own index and only the numbers are read, so a caller that stops at a
    page reads the rows of that page alone."""
    query = "SELECT case_no FROM cases WHERE due_day < ?"
    params = [before.isoformat()]
    if since is not None:
        query += " AND due_day >= ?"
        params.append(since.isoformat())
    found = {case_no for (case_no,) in db.execute(query, params)}
    found.update(case_no for (case_no,) in db.execute(
        "SELECT case_no FROM cases WHERE paused_since_ms IS NOT NULL"))
    if owed_before is not None:
        found.update(case_no for (case_no,) in db.execute(
            "SELECT case_no FROM cases WHERE owed_due_day < ?", (owed_before.isoformat(),)))
    return sorted(found)


_LOAD_CASE = f"SELECT {', '.join(_CASE_FIELDS)} FROM cases WHERE case_no = ?"
_CASE_HELD = "SELECT 1 FROM cases WHERE case_no = ?"


def load_case(db: sqlite3.Connection, case_no: str) -> workflow.CaseState | None:
    row = db.execute(_LOAD_CASE, (case_no,)).fetchone()
    if row is None:
        return None
    return row_to_case(dict(zip(_CASE_FIELDS, row, strict=True)))


def _unasked(answerer: str, proposer: str, seq: int, asked: str) -> str:
    return (f"{answerer} answered change request {proposer}#{seq}, which asked {asked}: "
            "only the node asked answers it")


class Projector:
    """Applies records to the projection tables; one instance per transaction batch, or
    for the own writes of a store while nothing else changes the database (``next_batch``).

    Calendars are built once per owner (``Calendars``): calendar notices are rare
    and take effect for transitions projected after them. The projector is also the authority
    table's Facts (node.authority): the staff register and each case's reviewer
    as projected so far.
    """

    def __init__(self, db: sqlite3.Connection, division: str, *, strict: bool = True,
                 from_empty: bool = False) -> None:
        self.db = db
        #: the node's own division: which logs it holds by design (``_log_replicated``)
        self.division = division
        self.strict = strict
        #: rebuild starts from empty tables, so while the case cache has never been
        #: trimmed, a case missing from it does not exist and needs no lookup
        self._cache_complete = from_empty
        self.calendars = Calendars(db)
        self._cases: dict[str, tuple[workflow.CaseState, str]] = {}
        self._dirty: set[str] = set()
        #: case_events rows to write: those without an os_login (its NULL is written as a
        #: literal, see ``_NONE``), and those with one
        self._events: list[tuple] = []
        self._events_os_login: list[tuple] = []
        self._staff: dict[tuple[str, str], Staff | None] = {}
        #: whether any case crosses nodes (None: not looked yet), and the records of such
        #: cases seen by this projector (a batch is projected before it is in the log)
        self._any_crossings: bool | None = None
        self._crossing_records: dict[tuple[str, int], record_pb2.Record] = {}

    def apply(self, record: record_pb2.Record) -> None:
        """Project one record. Strict (own new writes): any refusal refuses the write.

        Lenient (records already in the log: replicated or replayed): the log is the
        truth, so a record its author may not write is kept in authority_violations
        and one the domain rules reject is noted in projection_errors, rather than
        blocking replication of everything after it. Neither is applied.
        """
        try:
            body = authorise(record, self)
        except AuthorityViolation as exc:
            if self.strict:
                raise
            self.db.execute("INSERT OR REPLACE INTO authority_violations VALUES (?,?,?,?,?)",
                            (record.origin, record.seq, record.kind, exc.rule, str(exc)))
            return
        if record.recipient:
            self.db.execute("INSERT OR IGNORE INTO addressed VALUES (?, ?, ?, ?)",
                            (record.origin, record.seq, record.recipient, record.kind))
        handler = _HANDLERS.get(record.kind)
        if handler is None:
            return
        if self.strict:
            handler(self, record, body)
            return
        try:
            handler(self, record, body)
        except InputError as exc:
            self.db.execute("INSERT OR REPLACE INTO projection_errors VALUES (?, ?, ?)",
                            (record.origin, record.seq, exc.diagnostics()))

    def next_batch(self) -> None:
        """Project another batch on what this one learnt (NodeStore._own_projector: the
        caller vouches that nothing else changed the tables since the last flush was
        committed); the records of crossing cases kept for a replay are in the log now."""
        self._crossing_records.clear()

    def staff_member(self, origin: str, staff_id: str) -> Staff | None:
        key = (origin, staff_id)
        if key not in self._staff:
            row = self.db.execute("SELECT name, roles, active FROM staff WHERE origin = ? AND"
                                  " staff_id = ?", key).fetchone()
            if row is not None:
                self._staff[key] = Staff(staff_id, row[0], frozenset(json.loads(row[1])),
                                         bool(row[2]))
            elif self._log_replicated(origin):
                self._staff[key] = None
            else:  # a handler's answer delivered here: its register is judged where it is held
                self._staff[key] = Staff(staff_id, staff_id, frozenset(ROLES), True)
        return self._staff[key]

    def _log_replicated(self, origin: str) -> bool:
        """Whether ``origin``'s whole log is (or will be) held here: this node's own, its
        subtree's and its ancestors'. Decided by the divisions, not by looking for the log's
        rows: a batch is projected before it is appended, so the first batch of a log
        would otherwise find none and let anyone act as its staff."""
        return in_subtree(self.division, origin) or is_ancestor(origin, self.division)

    def reviewer_of(self, case_no: str) -> str | None:
        case = self._case_now(case_no)
        return case.reviewer if case else None

    def cross_region_of(self, case_no: str) -> tuple[str, str] | None:
        """("", "") for a case that crosses nothing or is not held (the rules treat both
        alike); one lookup only on a node that holds cross-region cases at all.

        Read from ``crossing_parties``, which every apply naming another node writes
        whether or not the 跨省通办 list lets the case stand: who the handler is does
        not depend on the list, so an answer gets the same verdict whether the list
        arrived before or after it."""
        if self._any_crossings is None:
            self._any_crossings = self.db.execute("SELECT 1 FROM crossing_parties LIMIT 1"
                                                  ).fetchone() is not None
        if self._any_crossings:
            row = self.db.execute("SELECT role, other FROM crossing_parties WHERE case_no = ?",
                                  (case_no,)).fetchone()
            if row is not None:
                return row[0], row[1]
        return "", ""
    def has_answered(self, origin: str, request_origin: str, request_seq: int) -> bool:
        return self.db.execute("SELECT 1 FROM change_answers WHERE origin = ? AND request_origin"
                               " = ? AND request_seq = ?", (origin, request_origin, request_seq)
                               ).fetchone() is not None

    def _staff_registered(self, record: record_pb2.Record, body: record_pb2.StaffMember) -> None:
        self.db.execute("INSERT OR REPLACE INTO staff VALUES (?,?,?,?,1,?)",
                        (record.origin, body.staff_id, body.name,
                         json.dumps(sorted(set(body.roles))), record.seq))
        self._staff.pop((record.origin, body.staff_id), None)

    def _staff_disabled(self, record: record_pb2.Record, body: record_pb2.StaffDisabled) -> None:
        self.db.execute("UPDATE staff SET active = 0, seq = ? WHERE origin = ? AND staff_id = ?",
                        (record.seq, record.origin, body.staff_id))
        self._staff.pop((record.origin, body.staff_id), None)

    def _matter_published(self, record: record_pb2.Record, matter: record_pb2.Matter) -> None:
        if self.strict:  # 四级四同 for own items; received ones are listed, not refused
            base_check.require_same(self.db, record.origin, matter)
        self.db.execute(
            "INSERT OR REPLACE INTO matters VALUES (?,?,?,?,?,?,?,?,?,0,NULL,?,?)",
            (
                matter.impl_code, matter.version, record.origin, record.seq, matter.base_code,
                matter.name, matter.type, matter.promised_limit_days, matter.legal_limit_days,
                hlc_ms(record.hlc),
                json.dumps(MessageToDict(matter, preserving_proto_field_name=True),
                           ensure_ascii=False, sort_keys=True),
            ),
        )

    def _base_item(self, record: record_pb2.Record, body: record_pb2.BaseItem) -> None:
        """A base item is checked like a base catalogue file before it counts, whoever wrote
        it: a bad one is a projection error (listed in problems), never a base to compare."""
        # catalogue_file reaches the projection through licence_types and the store: imported
        # here, where it is needed, not at the top, which would make the import a cycle
        from node.catalogue_file import recheck_base
        if body.version < 1:
            raise InputError(f"base item {body.base_code or '(no code)'} has version "
                             f"{body.version}; versions start at 1")
        recheck_base(body)
        self.db.execute("INSERT OR REPLACE INTO base_items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (record.origin, body.base_code, body.version, record.seq, body.name,
                         body.type, body.legal_basis, json.dumps(list(body.levels),
                                                                 ensure_ascii=False),
                         body.main_item, body.sub_item, int(body.retired), body.reason or None,
                         hlc_ms(record.hlc)))

    def _change_request(self, record: record_pb2.Record, body: record_pb2.ChangeRequest) -> None:
        """A request, and the refusal of any answer already projected from an ancestor it
        did not ask (the answer can arrive first: its log may be pushed up before the
        proposer's in one exchange), so the verdict does not depend on the order."""
        self.db.execute("INSERT OR IGNORE INTO change_requests VALUES (?,?,?,?,?,?,?,?)",
                        (record.origin, record.seq, record.recipient, hlc_ms(record.hlc),
                         body.proposed.base_code, int(body.retire), body.impl_code or None,
                         body.reason or None))
        unasked = self.db.execute("SELECT origin, seq FROM change_answers WHERE request_origin"
                                  " = ? AND request_seq = ? AND origin != ?",
                                  (record.origin, record.seq, record.recipient)).fetchall()
        for origin, seq in unasked:
            self.db.execute("DELETE FROM change_answers WHERE origin = ? AND seq = ?",
                            (origin, seq))
            self.db.execute("INSERT OR REPLACE INTO projection_errors VALUES (?, ?, ?)",
                            (origin, seq, _unasked(origin, record.origin, record.seq,
                                                   record.recipient)))

    def _change_answer(self, record: record_pb2.Record,
                       body: record_pb2.ChangeRequestAnswer) -> None:
        asked = self.db.execute("SELECT recipient FROM change_requests WHERE origin = ? AND"
                                " seq = ?", (body.request_origin, body.request_seq)).fetchone()
        if asked is not None and asked[0] != record.origin:
            raise InputError(_unasked(record.origin, body.request_origin, body.request_seq,
                                      asked[0]))
        self.db.execute("INSERT OR IGNORE INTO change_answers VALUES (?,?,?,?,?,?,?,?,?)",
                        (record.origin, record.seq, body.request_origin, body.request_seq,
                         int(body.approve), body.reason or None, body.base_code or None,
                         body.base_version, hlc_ms(record.hlc)))

    def _matter_retired(self, record: record_pb2.Record, body: record_pb2.MatterRetired) -> None:
        self.db.execute(
            "UPDATE matters SET retired = 1, retire_reason = ?"
            " WHERE origin = ? AND impl_code = ? AND version <= ?",
            (body.reason, record.origin, body.impl_code, body.version),
        )

    def _case_event(self, record: record_pb2.Record, event: record_pb2.CaseEvent) -> None:
        """A case's transitions, in arrival order; a cross-region case's events come from
        two logs, so one that arrives behind a later event of the other node replays the
        case in (hlc, origin, seq) order: every node reaches the same state whatever
        order the two logs' records reached it in."""
        if self._crosses(record, event) and self._keep_crossing(record, event.case_no):
            return
        self._transition(record, event)

    def _keep_crossing(self, record: record_pb2.Record, case_no: str) -> bool:
        """Keep a record of a cross-region case (an event or a 联办 step) for replays; True
        when it arrived behind a later one, so the case was replayed with it."""
        hlc = min(record.hlc, _SQLITE_MAX_INT)
        newest = self.db.execute("SELECT max(hlc) FROM crossregion_events WHERE"
                                 " case_no = ?", (case_no,)).fetchone()[0]
        self.db.execute("INSERT OR IGNORE INTO crossregion_events VALUES (?,?,?,?)",
                        (case_no, record.origin, record.seq, hlc))
        self._crossing_records[(record.origin, record.seq)] = record
        if newest is not None and hlc < newest:
            self._replay(case_no)
            return True
        return False

    def _crosses(self, record: record_pb2.Record, event: record_pb2.CaseEvent) -> bool:
        if event.action == "apply":
            return bool(event.handled_by or event.joint_with)
        if not event.case_no.startswith(record.origin + "-"):
            return True
        return self.cross_region_of(event.case_no) != ("", "")

    def _replay(self, case_no: str) -> None:
        """Project the case again from its events and steps in (hlc, origin, seq) order."""
        self.flush()
        keys = self.db.execute("SELECT origin, seq FROM crossregion_events WHERE case_no = ?"
                               " ORDER BY hlc, origin, seq", (case_no,)).fetchall()
        for table in ("case_events", "handovers", "cases", "joint_steps"):
            self.db.execute(f"DELETE FROM {table} WHERE case_no = ?", (case_no,))
        self.db.executemany("DELETE FROM projection_errors WHERE origin = ? AND seq = ?", keys)
        self.db.executemany("DELETE FROM evaluations WHERE origin = ? AND seq = ?", keys)
        self._cases.pop(case_no, None)
        for origin, seq in keys:
            held = self._crossing_records.get((origin, seq)) or self._held(origin, seq)
            try:
                if held.kind == Kind.CROSS_REGION_STEP:
                    self._project_step(held, record_pb2.CrossRegionStep.FromString(held.body))
                else:
                    self._transition(held, record_pb2.CaseEvent.FromString(held.body))
            except InputError as exc:
                self.db.execute("INSERT OR REPLACE INTO projection_errors VALUES (?, ?, ?)",
                                (origin, seq, exc.diagnostics()))

    def _held(self, origin: str, seq: int) -> record_pb2.Record:
        row = self.db.execute("SELECT data FROM records WHERE origin = ? AND seq = ?",
                              (origin, seq)).fetchone() or self.db.execute(
            "SELECT record FROM deliveries WHERE origin = ? AND seq = ?", (origin, seq)
        ).fetchone()
        return record_pb2.Record.FromString(row[0])

    def _transition(self, record: record_pb2.Record, event: record_pb2.CaseEvent) -> None:
        # every case event of a rebuild passes here: each field is read from the message once
        origin, hlc, case_no, action = record.origin, record.hlc, event.case_no, event.action
        at_ms = hlc_ms(hlc)
        hands_over = action == "apply" and bool(event.handled_by or event.joint_with)
        if hands_over:
            self.db.execute("INSERT OR REPLACE INTO crossing_parties VALUES (?, ?, ?)",
                            (case_no, *crossing(event)))
            self._any_crossings = True
            self._judge_hand_over(record, event)
        cached = self._cases.get(case_no)
        before: workflow.CaseState | None
        if cached:
            before, owner = cached
        else:
            owner = case_owner(case_no)
            if self._cache_complete or (action == "apply" and self.db.execute(
                    _CASE_HELD, (case_no,)).fetchone() is None):
                before = None  # an apply opens a case not held yet: a row of thirty columns
            else:              # costs more to ask for, even when there is none
                before = load_case(self.db, case_no)
        after = workflow.apply_event(
            before, event, at_ms, limit_days=event.limit_days,
            calendar=self.calendars(origin))  # the owner: authorise checked the number
        theme_case = after.theme_case
        if theme_case is not None:
            self._theme_member(record, after, before is None)
        self._cases[case_no] = (after, owner)
        self._dirty.add(case_no)
        if theme_case is not None:
            self._refresh_theme(theme_case, after)
        if hands_over:
            role, other = crossing(event)
            self.db.execute("INSERT OR REPLACE INTO handovers VALUES (?,?,?,?,?,?,NULL,NULL,"
                            "NULL,NULL)", (case_no, origin, role, other,
                                           event.matter_code, at_ms))
        elif origin != owner:  # apply_event keeps the number (authorise checked an apply's)
            self._handler_answered(event, at_ms)
        if action == "evaluate":
            self._legacy_evaluation(record, event, after)
        row = (origin, record.seq, case_no, at_ms, action, event.actor, str(after.state),
               min(hlc, _SQLITE_MAX_INT))
        os_login = event.os_login
        if os_login:
            self._events_os_login.append((*row, os_login))
        else:
            self._events.append(row)

    def _judge_hand_over(self, record: record_pb2.Record, apply: record_pb2.CaseEvent) -> None:
        """A hand-over counts only if the 跨省通办 list version it names allows it (ListError,
        so a projection error, if not). Until that version is held here the hand-over is
        projected and kept in ``crossregion_unjudged``; the arrival of that version or a
        later one (which shows it was never published) replays it."""
        self.db.execute("DELETE FROM crossregion_unjudged WHERE case_no = ?", (apply.case_no,))
        row = self.db.execute("SELECT data FROM crossregion_lists WHERE version = ?",
                              (apply.list_version,)).fetchone()
        if row is None:
            newest = self.db.execute("SELECT max(version) FROM crossregion_lists").fetchone()[0]
            if apply.list_version == 0 or apply.list_version <= (newest or 0):
                # the national log arrives in order: a version below one held never existed
                raise crossregion_list.ListError(
                    f"case {apply.case_no} cites 跨省通办 list version {apply.list_version}, "
                    f"which was never published (the newest is {newest or 'none yet'})")
            self.db.execute("INSERT INTO crossregion_unjudged VALUES (?, ?)",
                            (apply.case_no, apply.list_version))
            return
        crossregion_list.judge_hand_over(record_pb2.CrossRegionList.FromString(row[0]), apply,
                                         record.origin)

    def _handler_answered(self, event: record_pb2.CaseEvent, at_ms: int) -> None:
        """The hand-over's clock stops at the handler's first answer; 受理 is kept apart."""
        self.db.execute("UPDATE handovers SET answered_ms = ?, answer = ?, arrived_ms = ?"
                        " WHERE case_no = ? AND answered_ms IS NULL",
                        (at_ms, event.action, event.arrived_ms or None, event.case_no))
        if event.action == "accept":
            self.db.execute("UPDATE handovers SET accepted_ms = ? WHERE case_no = ?",
                            (at_ms, event.case_no))

    def _cross_region_list(self, record: record_pb2.Record,
                           body: record_pb2.CrossRegionList) -> None:
        taken = self.db.execute("SELECT origin, seq FROM crossregion_lists WHERE version = ?",
                                (body.version,)).fetchone()
        if taken is not None:
            raise InputError(f"跨省通办 list version {body.version} was published already "
                             f"({taken[0]}#{taken[1]})")
        self.db.execute("INSERT INTO crossregion_lists VALUES (?,?,?,?,?)",
                        (body.version, record.origin, record.seq, hlc_ms(record.hlc),
                         record.body))
        waiting = self.db.execute("SELECT case_no FROM crossregion_unjudged WHERE"
                                  " list_version <= ?", (body.version,)).fetchall()
        for (case_no,) in waiting:
            self._replay(case_no)

    def _cross_region_step(self, record: record_pb2.Record,
                           body: record_pb2.CrossRegionStep) -> None:
        if self._keep_crossing(record, body.case_no):
            return
        self._project_step(record, body)

    def _project_step(self, record: record_pb2.Record, body: record_pb2.CrossRegionStep) -> None:
        if self._case_now(body.case_no) is None:
            raise InputError(f"step {body.index} ({body.name}) of case {body.case_no}: no such "
                             "case is held here")
        done = self.db.execute("SELECT count(*) FROM joint_steps WHERE case_no = ?",
                               (body.case_no,)).fetchone()[0]
        if body.index != done:
            raise InputError(f"step {body.index} ({body.name}) of case {body.case_no}: "
                             f"{done} steps are recorded, so the next is step {done}")
        self.db.execute("INSERT INTO joint_steps VALUES (?,?,?,?,?,?,?,?,?)",
                        (body.case_no, body.index, body.name, body.side, record.origin,
                         record.seq, hlc_ms(record.hlc), body.actor or None,
                         body.text or None))

    def flush(self, *, keep_cases: bool = False) -> None:
        """Write buffered case rows; call before anything reads the tables.

        Case transitions are buffered so that a batch (or a rebuild) writes each
        case once, with executemany, instead of three statements per event.
        ``keep_cases`` (a rebuild between its progress marks) writes the events and keeps
        the case rows buffered while the cache holds them all, so a case whose events
        span many marks is written once; whatever reads the cases table while projecting
        (a replay, a calendar notice) flushes in full first. The caches of cases and staff
        are dropped here once past their limits, which bounds a rebuild's memory.
        """
        if self._dirty and not (keep_cases and len(self._cases) <= _CASE_CACHE_LIMIT):
            by_columns: dict[tuple[bool, ...], list[list]] = {}
            for case_no in self._dirty:
                state, origin = self._cases[case_no]
                row = case_to_row(state)
                row += (origin, indexed_due_day(state, self.calendars(origin)),
                        owed_due_day(state))
                present = tuple(map(operator.is_not, row, _NONE))
                by_columns.setdefault(present, []).append(list(itertools.compress(row, present)))
            for present, rows in by_columns.items():
                self.db.executemany(_case_insert(present), rows)
            self._dirty.clear()
        if self._events:
            self.db.executemany("INSERT INTO case_events VALUES (?,?,?,?,?,?,?,?,NULL)",
                                self._events)
            self._events.clear()
        if self._events_os_login:
            self.db.executemany("INSERT INTO case_events VALUES (?,?,?,?,?,?,?,?,?)",
                                self._events_os_login)
            self._events_os_login.clear()
        if len(self._cases) > _CASE_CACHE_LIMIT:
            self._cases.clear()
            self._cache_complete = False
        if len(self._staff) > _STAFF_CACHE_LIMIT:
            self._staff.clear()

    def _theme_member(self, record: record_pb2.Record, member: workflow.CaseState,
                      opened: bool) -> None:
        """A member case (一件事) opens under a theme case of the same owner that exists."""
        theme = self._case_now(member.theme_case or "")
        if theme is None or not theme.theme:
            raise workflow.WorkflowError(f"case {member.case_no}: theme case "
                                         f"{member.theme_case} is not a 一件事 case here")
        if opened:
            self.db.execute("INSERT INTO theme_members VALUES (?,?,?,?,?)",
                            (member.theme_case, member.case_no, member.matter_code,
                             record.origin, record.seq))

    def _refresh_theme(self, theme_case: str, changed: workflow.CaseState) -> None:
        """The theme case's state follows its members' (workflow.theme_progress)."""
        theme = self._case_now(theme_case)
        assert theme is not None  # _theme_member saw it when the member opened
        members = [changed if number == changed.case_no else self._case_now(number)
                   for (number,) in self.db.execute(
                       "SELECT member_case FROM theme_members WHERE theme_case = ?"
                       " ORDER BY seq", (theme_case,))]
        progressed = workflow.theme_progress(theme, [m for m in members if m is not None])
        if progressed != theme:
            self._cases[theme_case] = (progressed, case_owner(theme_case))
            self._dirty.add(theme_case)

    def _calendar_notice(self, record: record_pb2.Record,
                         notice: record_pb2.CalendarNotice) -> None:
        for day in [*notice.holidays, *notice.working_days]:
            try:
                date.fromisoformat(day)
            except ValueError as exc:  # every reader parses these days: none may be bad
                raise InputError(f"calendar notice {record.origin}#{record.seq}: bad date "
                                 f"{day!r}: want YYYY-MM-DD") from exc
        rows = [(record.origin, d, 0, record.seq) for d in notice.holidays]
        rows += [(record.origin, d, 1, record.seq) for d in notice.working_days]
        self.db.executemany("INSERT OR REPLACE INTO calendar_overrides VALUES (?,?,?,?)", rows)
        self.calendars.clear()
        self._recompute_due_days(record.origin)

    def _recompute_due_days(self, publisher: str) -> None:
        """A calendar notice moves the due dates of the running cases in its publisher's
        subtree, and of no others: redo those.

        Open cases only (due_day set) whose owner lies in the subtree, so a notice
        costs those cases once, and notices are a few a year.
        """
        self.flush()
        changed = []
        for row in self.db.execute(f"SELECT {', '.join(_CASE_FIELDS)}, origin, due_day FROM"
                                   " cases WHERE due_day IS NOT NULL AND origin LIKE ?",
                                   (subtree_prefix(publisher) + "%",)).fetchall():
            case = row_to_case(dict(zip(_CASE_FIELDS, row, strict=False)))
            due = indexed_due_day(case, self.calendars(row[-2]))
            if due != row[-1]:
                changed.append((due, case.case_no))
        self.db.executemany("UPDATE cases SET due_day = ? WHERE case_no = ?", changed)

    def _cert_revoked(self, record: record_pb2.Record, body: record_pb2.CertRevoked) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO revocations VALUES (?,?,?,?,?)",
            (record.origin, body.serial_hex, body.reason, body.revoked_at_ms, record.seq),
        )

    def _cert_issued(self, record: record_pb2.Record, body: record_pb2.CertIssued) -> None:
        self.db.execute("INSERT OR IGNORE INTO certificates VALUES (?,?,?)",
                        (record.origin, record.seq, body.certificate_der))

    def _policy_notice(self, record: record_pb2.Record, body: record_pb2.PolicyNotice) -> None:
        self.db.execute("INSERT OR IGNORE INTO notices VALUES (?,?,?,?,?,?)",
                        (record.origin, record.seq, record.recipient, hlc_ms(record.hlc),
                         body.title, body.text))

    def _legacy_evaluation(self, record: record_pb2.Record, event: record_pb2.CaseEvent,
                           case: workflow.CaseState) -> None:
        """A score typed in by the clerk as a case event, before evaluator records existed:
        counted, and shown for what it is (evaluator kind "clerk")."""
        actor = event.actor or "(unknown)"
        self._insert_evaluation(record, event.case_no, event.score, "clerk", "window",
                                f"clerk:{actor}", actor, event.comment, False)

    def _insert_evaluation(self, record: record_pb2.Record, case_no: str, level: int,
                           kind: str, channel: str, evaluator: str, entered_by: str,
                           comment: str, anonymous: bool) -> None:
        taken = self.db.execute("SELECT origin, seq FROM evaluations WHERE case_no = ? AND "
                                "evaluator = ?", (case_no, evaluator)).fetchone()
        if taken is not None:
            raise workflow.WorkflowError(
                f"case {case_no} was already evaluated by {evaluator} ({taken[0]}#{taken[1]}); "
                "one evaluation per case per evaluator")
        self.db.execute("INSERT INTO evaluations VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (record.origin, record.seq, case_no, level, kind, channel, evaluator,
                         entered_by or None, comment or None, int(anonymous),
                         hlc_ms(record.hlc)))

    def _case_now(self, case_no: str) -> workflow.CaseState | None:
        cached = self._cases.get(case_no)
        return cached[0] if cached else load_case(self.db, case_no)

    def _supervision_notice(self, record: record_pb2.Record,
                            body: record_pb2.SupervisionNotice) -> None:
        if not body.text.strip() or body.due_days < 1:
            raise InputError(f"督办 notice about case {body.case_no} needs a text and "
                             "due_days >= 1")
        self.db.execute("INSERT OR IGNORE INTO supervision_notices VALUES (?,?,?,?,?,?,?)",
                        (record.origin, record.seq, body.case_no, case_owner(body.case_no),
                         hlc_ms(record.hlc), body.text, body.due_days))

    def _supervision_reply(self, record: record_pb2.Record,
                           body: record_pb2.SupervisionReply) -> None:
        self.db.execute("INSERT OR IGNORE INTO supervision_replies VALUES (?,?,?,?,?,?,?)",
                        (record.origin, record.seq, body.notice_origin, body.notice_seq,
                         body.case_no, hlc_ms(record.hlc), body.text))

    def _evaluation(self, record: record_pb2.Record, body: record_pb2.Evaluation) -> None:
        workflow.check_evaluation(self._case_now(body.case_no), body)
        self._insert_evaluation(record, body.case_no, body.level, body.evaluator_kind,
                                body.channel, body.evaluator.strip(), body.entered_by.strip(),
                                body.comment.strip(), body.anonymous)

    def _evaluation_follow_up(self, record: record_pb2.Record,
                              body: record_pb2.EvaluationFollowUp) -> None:
        if body.step not in FOLLOW_UP_STEPS:
            raise InputError(f"follow-up step {body.step!r} for case {body.case_no}: want "
                             f"{', '.join(FOLLOW_UP_STEPS)}")
        self.db.execute("INSERT OR IGNORE INTO evaluation_follow_ups VALUES (?,?,?,?,?,?,?,?,?)",
                        (record.origin, record.seq, body.evaluation_origin, body.evaluation_seq,
                         body.case_no, body.step, body.text, body.actor or None,
                         hlc_ms(record.hlc)))


def _licence(project: Callable[[sqlite3.Connection, record_pb2.Record, Any], None]
             ) -> Callable[[Projector, record_pb2.Record, Any], None]:
    """A handler of node.licence_projection, called as the projector calls its own."""
    return lambda projector, record, body: project(projector.db, record, body)


#: The handler of each kind, called with the projector, the record and its body as
#: node.authority parsed it (its kind's message type). Functions, not each projector's bound
#: methods: those made every projector a reference cycle that only the cyclic collector
#: freed, so a rebuild's case cache outlived it and the collector's first pass after it
#: walked the whole cache (0.2-0.4 µs a record on bench_node's county).
_HANDLERS: dict[int, Callable[[Projector, record_pb2.Record, Any], None]] = {
    Kind.MATTER_PUBLISHED: Projector._matter_published,
    Kind.MATTER_RETIRED: Projector._matter_retired,
    Kind.CASE_EVENT: Projector._case_event,
    Kind.CALENDAR_NOTICE: Projector._calendar_notice,
    Kind.CERT_REVOKED: Projector._cert_revoked,
    Kind.CERT_ISSUED: Projector._cert_issued,
    Kind.POLICY_NOTICE: Projector._policy_notice,
    **{kind: _licence(project) for kind, project in licence_projection.HANDLERS.items()},
    Kind.SUPERVISION_NOTICE: Projector._supervision_notice,
    Kind.SUPERVISION_REPLY: Projector._supervision_reply,
    Kind.EVALUATION: Projector._evaluation,
    Kind.EVALUATION_FOLLOW_UP: Projector._evaluation_follow_up,
    Kind.STAFF_REGISTERED: Projector._staff_registered,
    Kind.STAFF_DISABLED: Projector._staff_disabled,
    Kind.CROSS_REGION_LIST: Projector._cross_region_list,
    Kind.CROSS_REGION_STEP: Projector._cross_region_step,
    Kind.BASE_ITEM_PUBLISHED: Projector._base_item,
    Kind.MATTER_CHANGE_REQUEST: Projector._change_request,
    Kind.CHANGE_REQUEST_ANSWERED: Projector._change_answer,
}
