"""One error hierarchy for all of tongban.

It lives in the lowest layer (pki) so that sync and node can raise and catch the
same types. The CLI prints ``diagnostics()`` as one line and exits with
``exit_code``; anything that is not an ``Error`` is a bug and shows a trace.
"""

from __future__ import annotations


class Error(Exception):
    """Root of every error meant for a person rather than a developer."""

    #: 1 = refused or problems found; 2 = could not run (see README, exit codes).
    exit_code = 1

    def diagnostics(self) -> str:
        return str(self)


class InputError(Error):
    """The user or a peer handed us something we will not accept."""


class MalformedError(InputError):
    """Bytes or text that do not parse: "malformed <thing>: <why>"."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"malformed {what}: {why}")
        self.what = what
        self.why = why


class VerificationError(Error):
    """A signature, certificate, proof or root did not verify."""


class EnvironmentProblem(Error):
    """We could not run at all: missing home, unreadable file, unreachable peer."""

    exit_code = 2
