"""``tongban doctor``: every check an operator would otherwise do by hand, one verdict each.

The verdicts and the exit code follow the Nagios plugin convention (0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN) so the command drops into Nagios, Icinga or
a cron mail as it is; this is the one command whose exit codes differ from the
CLI's usual 0/1/2. The overall code is the worst verdict, CRITICAL before
WARNING before UNKNOWN. Checks that need the database report UNKNOWN when it
cannot be opened, rather than guessing.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node import config_schema, health, linkstate, observe
from node.certwatch import CRITICAL_DAYS, WARN_DAYS
from node.clock import today
from node.home import Home
from node.projection import calendar_for
from node.store import NodeStore
from node.wiring import identity
from pki.certs import division_of
from pki.errors import Error
from sync.tls import target_name

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}

CLOCK_WARN_S, CLOCK_CRITICAL_S = 30, 300
DISK_WARN, DISK_CRITICAL = 0.10, 0.02          # free share of the home's file system
PARENT_PROBE_S = 3.0


@dataclass
class Check:
    name: str
    code: int
    message: str

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": NAMES[self.code]}


def overall(checks: list[Check]) -> int:
    codes = {c.code for c in checks}
    for code in (CRITICAL, WARNING, UNKNOWN):
        if code in codes:
            return code
    return OK


def check_config(home: Home) -> Check:
    try:
        data = tomllib.loads(home.config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Check("config", CRITICAL, f"no {home.config_path}")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Check("config", CRITICAL, f"{home.config_path}: {exc}")
    found = config_schema.problems(data)
    return Check("config", CRITICAL if found else OK, "; ".join(found) or "valid")


def check_database(home: Home) -> Check:
    problem = health.database_problem(home, thorough=True)
    return Check("database", CRITICAL if problem else OK, problem or "quick_check ok")


def check_certificates(home: Home, now: datetime) -> Check:
    try:
        chain = home.cert_chain()
    except Error as exc:
        return Check("certificate", CRITICAL, exc.diagnostics())
    worst, notes = OK, []
    for cert in chain.all():
        days = (cert.not_valid_after_utc - now).total_seconds() / 86400
        code = CRITICAL if days < CRITICAL_DAYS else WARNING if days < WARN_DAYS else OK
        if code:
            state = f"expired {-days:.0f} days ago" if days < 0 else f"expires in {days:.0f} days"
            notes.append(f"{division_of(cert)} {state}")
        worst = max(worst, code)
    days = (chain.cert.not_valid_after_utc - now).total_seconds() / 86400
    return Check("certificate", worst, "; ".join(notes) or f"valid for {days:.0f} more days")


def check_parent(store: NodeStore) -> Check:
    """Asks the parent's gRPC health service now, then reads the recorded link state."""
    address = store.config.parent_address
    if not address:
        return Check("link", OK, "no parent configured")
    state = linkstate.load(store.db)
    parent = state.parent
    if not parent:
        return Check("link", WARNING, f"never synced with {address} yet")
    options = [("grpc.ssl_target_name_override", target_name(parent))]
    try:
        with grpc.secure_channel(address, identity(store.home).channel_credentials(),
                                 options) as channel:
            # the stub's methods are set in __init__, which grpc-stubs does not see
            health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=""), timeout=PARENT_PROBE_S)
    except grpc.RpcError as exc:
        return Check("link", CRITICAL, f"parent {parent} at {address} does not answer: "
                     f"{exc.code().name}")
    if state.state == "refused":
        return Check("link", CRITICAL, f"parent answers but refused the last exchange: "
                     f"{state.last_error[:200]}")
    if state.state == "down":
        return Check("link", WARNING, "parent answers now; the last exchange failed")
    return Check("link", OK, f"parent {parent} answers; last exchange {state.state}")


def check_problems(store: NodeStore) -> Check:
    counts = observe.problems(store.db)
    serious = {k: n for k, n in counts.items() if n and k != "quarantine"}
    if serious:
        return Check("problems", CRITICAL, ", ".join(f"{n} {k}" for k, n in serious.items())
                     + " (tongban audit / the problems tables)")
    if counts["quarantine"]:
        return Check("problems", WARNING, f"{counts['quarantine']} refused batches in "
                     "quarantine")
    return Check("problems", OK, "none")


def check_clock(store: NodeStore) -> Check:
    state = linkstate.load(store.db)
    offset = state.clock_offset_ms
    if offset is None:
        return Check("clock", OK if not store.config.parent_address else UNKNOWN,
                     "no Hello from the parent yet" if store.config.parent_address
                     else "no parent to compare with")
    seconds = abs(offset) / 1000
    code = CRITICAL if seconds > CLOCK_CRITICAL_S else WARNING if seconds > CLOCK_WARN_S else OK
    within = (f" (±{state.clock_uncertainty_ms / 1000:.3f}s)"
              if state.clock_uncertainty_ms is not None else "")
    return Check("clock", code, f"parent's clock {offset / 1000:+.3f}s from ours{within}, "
                 "from its last Hello")


def check_disk(home: Home) -> Check:
    usage = shutil.disk_usage(home.path)
    free = usage.free / usage.total
    code = CRITICAL if free < DISK_CRITICAL else WARNING if free < DISK_WARN else OK
    return Check("disk", code, f"{usage.free / 2**30:.1f} GiB free ({free:.0%})")


def check_backup(store: NodeStore) -> Check:
    age = observe.backup_age(store.db)
    limit = store.config.backup_max_age_hours
    if age is None:
        return Check("backup", WARNING, "no db backup recorded (tongban db backup FILE)")
    hours = age / 3600
    return Check("backup", WARNING if hours > limit else OK,
                 f"newest backup {hours:.0f} h old (limit {limit:.0f} h)")


def check_calendar(store: NodeStore, day: date) -> Check:
    calendar = calendar_for(store.db, store.division)
    years = sorted({day.year, (day + timedelta(days=365)).year})
    missing = [y for y in years if not calendar.is_covered(y)]
    if missing:
        return Check("calendar", WARNING, f"no official calendar for {', '.join(map(str, missing))}"
                     ": deadlines count Mon–Fri (tongban calendar publish)")
    return Check("calendar", OK, f"covered through {years[-1]}")


def run(home: Home) -> list[Check]:
    now = datetime.now(UTC)
    checks = [check_config(home), check_database(home), check_disk(home)]
    if home.cert_path.exists() or checks[0].code == OK:
        checks.append(check_certificates(home, now))
    needs_store = ("link", "problems", "clock", "backup", "calendar")
    if checks[0].code != OK or checks[1].code != OK:
        return checks + [Check(n, UNKNOWN, "not checked: config or database unusable")
                         for n in needs_store]
    try:
        store = NodeStore.open(home)
    except Error as exc:
        return checks + [Check(n, UNKNOWN, exc.diagnostics()) for n in needs_store]
    try:
        checks += [check_parent(store), check_problems(store), check_clock(store),
                   check_backup(store), check_calendar(store, today())]
    finally:
        store.close()
    return checks
