"""What to tell a person when something other than a tongban error stops a command.

The CLI prints one line for every failure. ``pki.errors.Error`` already says
what went wrong; the exceptions here come from below us (SQLite, the operating
system, the codecs) and would otherwise reach the terminal as a trace that a
county administrator cannot act on. Each gets a plain sentence and what to do,
and the exit code the README documents (2: could not run). The CLI keeps no
knowledge of sqlite3; this module is where it lives.
"""

from __future__ import annotations

import errno
import sqlite3

from pki.errors import EnvironmentProblem, Error, InputError

#: SQLite's words for a file whose pages are not a database any more.
_DAMAGED = ("file is not a database", "database disk image is malformed",
            "malformed database schema")
_FULL = ("database or disk is full",)

DAMAGED_ADVICE = ("restore the newest backup (tongban db backup) as node.db, or make a new "
                  "home and recover its records from the parent with tongban sync")


class DatabaseDamaged(EnvironmentProblem):
    """The node database failed SQLite's integrity check or could not be read as one."""


class DiskFull(EnvironmentProblem):
    """A write found no room; SQLite rolled the transaction back, so nothing changed."""


class EncodingProblem(InputError):
    """Text that is not valid UTF-8 (or cannot be shown in the terminal's encoding)."""


class NumberOutOfRange(InputError):
    """An integer too large for the field it was given for."""


class Unexpected(EnvironmentProblem):
    """A bug: an exception nobody anticipated; the trace is one ``-v`` away."""


def damaged(path: object, detail: str) -> DatabaseDamaged:
    return DatabaseDamaged(f"the node database {path} is damaged ({detail}): {DAMAGED_ADVICE}")


def explain(exc: BaseException) -> Error:
    """The tongban error a person should see for ``exc`` (an ``Error`` is returned as is)."""
    if isinstance(exc, Error):
        return exc
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        if any(words in text for words in _DAMAGED):
            return DatabaseDamaged(f"the node database is damaged ({text}): {DAMAGED_ADVICE}")
        if any(words in text for words in _FULL):
            return _disk_full()
        if "readonly" in text or "unable to open" in text:
            return EnvironmentProblem(f"cannot write the node database ({text}): check the "
                                      "home folder's owner and permissions")
        if "locked" in text:
            return EnvironmentProblem(f"the node database is busy ({text}): another tongban "
                                      "command holds it; try again")
        return EnvironmentProblem(f"the node database failed: {text}")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full()
    if isinstance(exc, PermissionError):
        where = f" {exc.filename}" if exc.filename else ""
        return EnvironmentProblem(f"permission denied{where}: run as the node's user, or "
                                  "check the folder's owner and mode")
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return EnvironmentProblem(f"cannot use{where}: {exc.strerror or text}")
    if isinstance(exc, UnicodeError):
        return EncodingProblem(f"text is not valid UTF-8 or cannot be shown here ({text}); "
                               "set a UTF-8 locale (LANG=C.UTF-8) and retype the value")
    if isinstance(exc, OverflowError):
        return NumberOutOfRange(f"a number is too large ({text}); use a smaller value")
    if isinstance(exc, MemoryError):
        return EnvironmentProblem("out of memory: the input is too large for this machine")
    return Unexpected(f"unexpected {type(exc).__name__}: {text}; this is a bug: "
                      "run with -v for the trace and report it")


def _disk_full() -> DiskFull:
    return DiskFull("the disk is full: nothing was written; free space on the disk that "
                    "holds the home and run the command again")
