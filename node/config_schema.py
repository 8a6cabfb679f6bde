"""The one schema of tongban.toml: every key's section, type, default and help text.

A typo in a config must never be silently ignored (``parent_adress`` would
leave a node unlinked without a word), so loading refuses unknown sections and
keys and suggests the nearest known name. ``tongban config check``,
``config show`` and docs/config.md are all read from this table, so the
documentation cannot drift from what the loader accepts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tomli_w

from pki.division import validate
from pki.errors import Error, InputError

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$")


def parse_address(text: str, what: str = "address") -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets) as (host, port), or an InputError naming ``what``.

    Checked when a home is made and whenever a config loads, so that a typo
    surfaces at once rather than as a link that never comes up.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not _HOST.match(host) or not port.isascii() or not port.isdigit() or not (
            0 < int(port) < 65536):
        raise InputError(f"bad {what} {text!r}: want HOST:PORT with a port 1-65535, "
                         "e.g. 10.1.0.5:7443")
    return host, int(port)


def _address(value: str) -> str | None:
    try:
        parse_address(value)
    except InputError:
        return "want HOST:PORT with a port 1-65535"
    return None


def _optional_address(value: str) -> str | None:
    return None if value == "" else _address(value)


def _division(value: str) -> str | None:
    try:
        validate(value)
    except Error as exc:
        return exc.diagnostics()
    return None


def _not_blank(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _working_days(value: int) -> str | None:
    return None if 0 <= value <= 3650 else "want working days, 0 to 3650"


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    kind: type
    default: Any            # None: required, no default
    help: str
    check: Callable[[Any], str | None] | None = None
    choices: tuple[str, ...] = ()
    positive: bool = False

    @property
    def attr(self) -> str:
        """The Config attribute: the key, prefixed by its section outside [node] and [link]."""
        return self.key if self.section in ("node", "link", "ops") else (
            f"{self.section}_{self.key}")

    @property
    def name(self) -> str:
        return f"[{self.section}] {self.key}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this key, or None."""
        if self.kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.kind) and not (
                self.kind is int and isinstance(value, bool))
        if not ok:
            return f"{self.name} got {value!r}, want {self.kind.__name__}"
        if self.positive and not 0 < value < float("inf"):
            return f"{self.name} got {value!r}, want a number > 0"
        if self.choices and value not in self.choices:
            return f"{self.name} got {value!r}, want one of {', '.join(self.choices)}"
        reason = self.check(value) if self.check else None
        return f"{self.name} got {value!r}: {reason}" if reason else None


SETTINGS: tuple[Setting, ...] = (
    Setting("node", "division", str, None, "GB/T 2260 code of this node; its level follows "
            "from it.", _division),
    Setting("node", "name", str, None, "The node's name as people say it, e.g. 城关区.",
            _not_blank),
    Setting("node", "parent_address", str, "", "HOST:PORT of the parent's `tongban serve`; "
            "empty on the national node.", _optional_address),
    Setting("node", "listen_address", str, "127.0.0.1:7443",
            "HOST:PORT this node serves its children on.", _address),
    Setting("link", "interval_seconds", float, 10.0,
            "Wait between exchanges with the parent while nothing failed.", positive=True),
    Setting("link", "max_backoff_seconds", float, 300.0,
            "Longest wait between retries while the parent is unreachable.", positive=True),
    Setting("link", "max_batch_bytes", int, 1024 * 1024,
            "Largest batch of records pushed in one call (payload bytes, before gzip).",
            positive=True),
    Setting("link", "keepalive_seconds", float, 20.0,
            "gRPC keepalive ping interval on the channel to the parent; a blackholed link is "
            "noticed after this plus 10 s.", positive=True),
    Setting("link", "deadline_scale", float, 1.0,
            "Multiplies the uplink's call deadlines: above 1 for links slower than 32 kbit/s.",
            positive=True),
    Setting("ops", "metrics_address", str, "",
            "HOST:PORT for Prometheus metrics (/metrics); empty is off. Keep it on "
            "127.0.0.1.", _optional_address),
    Setting("ops", "health_address", str, "",
            "HOST:PORT for HTTP /healthz and /readyz; empty is off.", _optional_address),
    Setting("ops", "watch_certificates", bool, True,
            "`serve` reloads the certificate when node.crt, chain.pem, node.key or root.crt "
            "change (checked every second); false: only on SIGHUP (systemctl reload).",),
    Setting("ops", "backup_max_age_hours", float, 48.0,
            "doctor warns when the newest `db backup` is older than this.", positive=True),
    Setting("supervision", "acceptance_days", int, 5,
            "Working days an application may wait for 受理 or 不予受理 before it is red "
            "(行政许可法: 5).", _working_days),
    Setting("supervision", "supplement_answer_days", int, 10,
            "Working days a 补正 notice may stay unanswered before it is red.", _working_days),
    Setting("supervision", "handover_answer_days", int, 1,
            "Working days a cross-region hand-over (代收代办) may wait for the handler's first "
            "answer (受理, 不予受理 or 补正) before it is red, at both ends and above.",
            _working_days),
    Setting("evaluation", "verify", int, 1,
            "Working days from a 差评 to its 回访核实 (国办发〔2019〕51号; provinces set "
            "their own).",
            _working_days),
    Setting("evaluation", "rectify", int, 15,
            "Working days from a 差评 to its 整改.", _working_days),
    Setting("evaluation", "feedback", int, 15,
            "Working days from a 差评 to its 反馈.", _working_days),
    Setting("staff", "one_person_office", bool, False,
            "One person may both review (审查) and decide (决定) a case; each such decision "
            "records that it was taken in a one-person office.", None),
    Setting("clock", "tolerance_minutes", float, 10.0,
            "Own writes are refused while the system clock is this far before the newest own "
            "record (a clock that jumped back).", positive=True),
    Setting("clock", "ahead_minutes", float, 5.0,
            "A received record may move this node's clock at most this far past its wall "
            "clock; later ones are stored and flagged (tongban problems).", positive=True),
    Setting("clock", "drill", bool, False,
            "A training home: $TONGBAN_CLOCK may write even after a parent receipt. Never on "
            "a production home.", None),
    Setting("log", "level", str, "info", "Lowest level `serve` logs.",
            choices=("debug", "info", "warning", "error")),
    Setting("log", "format", str, "text", "text (one line, ISO time, level) or json (one "
            "object per line, for collectors).", choices=("text", "json")),
)

SECTIONS = tuple(dict.fromkeys(s.section for s in SETTINGS))
BY_NAME = {(s.section, s.key): s for s in SETTINGS}


@dataclass
class Config:
    """A node's config, every field named and typed by SETTINGS."""

    division: str
    name: str
    parent_address: str = ""
    listen_address: str = "127.0.0.1:7443"
    interval_seconds: float = 10.0
    max_backoff_seconds: float = 300.0
    max_batch_bytes: int = 1024 * 1024
    keepalive_seconds: float = 20.0
    deadline_scale: float = 1.0
    metrics_address: str = ""
    health_address: str = ""
    watch_certificates: bool = True
    backup_max_age_hours: float = 48.0
    supervision_acceptance_days: int = 5
    supervision_supplement_answer_days: int = 10
    supervision_handover_answer_days: int = 1
    evaluation_verify: int = 1
    evaluation_rectify: int = 15
    evaluation_feedback: int = 15
    staff_one_person_office: bool = False
    clock_tolerance_minutes: float = 10.0
    clock_ahead_minutes: float = 5.0
    clock_drill: bool = False
    log_level: str = "info"
    log_format: str = "text"

    def to_dict(self, defaults: bool = False) -> dict[str, dict[str, Any]]:
        """Sections of keys: [node] always in full, elsewhere only what differs from the
        default unless ``defaults``."""
        out: dict[str, dict[str, Any]] = {}
        for s in SETTINGS:
            value = getattr(self, s.attr)
            if defaults or s.section == "node" or value != s.default:
                out.setdefault(s.section, {})[s.key] = value
        return out

    def to_toml(self, defaults: bool = False) -> str:
        return tomli_w.dumps(self.to_dict(defaults))


def _nearest_key(key: str, section: str | None) -> Setting | None:
    """The known key nearest to ``key``: in ``section`` first, then anywhere; a prefix
    (``interval`` for ``interval_seconds``) counts as near."""
    for pool in ([s for s in SETTINGS if s.section == section], list(SETTINGS)):
        keys = [s.key for s in pool]
        close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6) or [
            k for k in keys if k.startswith(f"{key}_")]
        if close:
            return next(s for s in pool if s.key == close[0])
    return None


def _unknown_section(section: str, table: Any) -> str:
    close = difflib.get_close_matches(section, SECTIONS, n=1, cutoff=0.5)
    hints = [f"[{close[0]}]"] if close else []
    for key in table if isinstance(table, dict) else ():
        near = _nearest_key(key, None)
        if near:
            hints.append(f"{near.name} for {key}")
    return f"unknown section [{section}]" + (f" (did you mean {'; '.join(hints)}?)"
                                              if hints else "")


def _unknown_key(section: str, key: str) -> str:
    near = _nearest_key(key, section)
    if near is None:
        return f"unknown key [{section}] {key}"
    shown = near.key if near.section == section else near.name
    return f"unknown key [{section}] {key} (did you mean {shown}?)"


def problems(data: dict[str, Any]) -> list[str]:
    """Everything wrong with a parsed tongban.toml, one line each; empty when it loads."""
    found: list[str] = []
    for section, table in data.items():
        if section not in SECTIONS:
            found.append(_unknown_section(section, table))
        elif not isinstance(table, dict):
            found.append(f"[{section}] must be a table")
        else:
            for key, value in table.items():
                setting = BY_NAME.get((section, key))
                problem = (_unknown_key(section, key) if setting is None
                           else setting.problem(value))
                if problem:
                    found.append(problem)
    for s in SETTINGS:
        table = data.get(s.section)
        if s.default is None and not (isinstance(table, dict) and s.key in table):
            found.append(f"missing {s.name}")
    return found


def build(data: dict[str, Any]) -> Config:
    """The Config of a parsed tongban.toml that has no problems (see ``problems``)."""
    values = {s.attr: data.get(s.section, {}).get(s.key, s.default) for s in SETTINGS}
    for s in SETTINGS:
        if s.kind is float:
            values[s.attr] = float(values[s.attr])
    return Config(**values)


def defaults_of(setting: Setting) -> str:
    return "(required)" if setting.default is None else repr(setting.default)


def markdown() -> str:
    """docs/config.md: every key with its type, default and help, grouped by section."""
    lines = ["# tongban.toml", "",
             "Generated from `node/config_schema.py` by `python -m ops.gendocs`; do not edit.",
             "Unknown sections and keys are refused with a suggestion; `tongban config check`",
             "checks a file, `tongban config show --defaults` prints every key in effect.", ""]
    for section in SECTIONS:
        lines += [f"## [{section}]", "", "| key | type | default | meaning |",
                  "| --- | --- | --- | --- |"]
        for s in SETTINGS:
            if s.section != section:
                continue
            default = defaults_of(s) if s.default != "" else '""'
            kind = s.kind.__name__ + (f" ({' / '.join(s.choices)})" if s.choices else "")
            lines.append(f"| `{s.key}` | {kind} | `{default}` | {s.help} |")
        lines.append("")
    return "\n".join(lines)


