"""How ``tongban serve`` logs: the standard ``logging`` module, set up once.

Lines carry a full ISO timestamp with offset and the level, so a log copied
off a county server still says when and how bad. Under systemd (JOURNAL_STREAM
is set) each line starts with the syslog priority ``<N>``, which journald reads
as the entry's priority and strips; the journal adds its own timestamp.
``--log-format json`` writes one object per line for collectors.

A link that stays down fails the same way on every retry; ``Collapse`` keeps the
first such line, holds back the identical repeats and, when something else is
logged (or the node stops), says how many times it repeated.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import datetime

ROOT = "tongban"

#: syslog priorities journald reads from a ``<N>`` prefix (sd-daemon(3))
JOURNAL_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4,
                    logging.ERROR: 3, logging.CRITICAL: 2}


def _iso(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """``2026-03-01T08:00:00.000+08:00 WARNING tongban.link: message``; journald style
    ``<4>tongban.link: message`` when ``journal``."""

    def __init__(self, journal: bool = False) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if self.journal:
            return f"<{JOURNAL_PRIORITY.get(record.levelno, 6)}>{record.name}: {text}"
        return f"{_iso(record)} {record.levelname} {record.name}: {text}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, plus any ``extra`` fields
    passed under ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": _iso(record), "level": record.levelname.lower(), "logger": record.name,
                "message": record.getMessage()}
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, sort_keys=True)


class Collapse(logging.Filter):
    """Drops a line identical (logger, level, message) to the one before it; the next
    different line is preceded by ``... repeated N more times``."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler
        self._last: tuple[str, int, str] | None = None
        self._repeats = 0
        self._guard = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        with self._guard:
            if key == self._last:
                self._repeats += 1
                return False
            self._flush_locked()
            self._last = key
        return True

    def flush(self) -> None:
        with self._guard:
            self._flush_locked()
            self._last = None

    def _flush_locked(self) -> None:
        if not self._repeats or self._last is None:
            return
        name, level, message = self._last
        count, self._repeats = self._repeats, 0
        summary = logging.LogRecord(name, level, __file__, 0,
                                    "previous line repeated %d more times: %s",
                                    (count, message[:120]), None)
        summary.fields = {"repeated": count}
        # emit, not handle: handle would run this filter again
        self.handler.acquire()
        try:
            self.handler.emit(summary)
        finally:
            self.handler.release()


def setup(level: str = "info", fmt: str = "text", stream=None) -> Collapse:
    """Route the ``tongban`` loggers to ``stream`` (stderr); returns the collapsing filter so
    the caller can flush its count at shutdown."""
    handler = logging.StreamHandler(stream or sys.stderr)
    journal = bool(os.environ.get("JOURNAL_STREAM")) and fmt == "text"
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(journal))
    collapse = Collapse(handler)
    handler.addFilter(collapse)
    root = logging.getLogger(ROOT)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    return collapse
