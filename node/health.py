"""Health probes: plain HTTP ``/healthz`` and ``/readyz``, and gRPC health's ``Uplink``.

``/healthz`` answers "is the process alive and its database readable" (restart
it if not); ``/readyz`` answers "can it serve children now": a certificate
that is valid at this moment and a database whose quick_check passes. Both
open their own connection per probe, so a wedged replication thread cannot
make a probe lie. The gRPC health service reports ``Uplink`` NOT_SERVING while
the link to the parent is down or refused, so the same probe a gRPC operator
already runs shows a cut link.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from grpc_health.v1 import health, health_pb2

from node.home import Home
from pki.errors import Error

UPLINK_SERVICE = "Uplink"


def database_problem(home: Home, thorough: bool = False) -> str | None:
    """Why the database cannot be read (or, ``thorough``, fails quick_check), or None."""
    try:
        db = sqlite3.connect(f"file:{home.db_path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return f"cannot open {home.db_path}: {exc}"
    try:
        if thorough:
            rows = [r[0] for r in db.execute("PRAGMA quick_check")]
            if rows != ["ok"]:
                return f"quick_check: {'; '.join(rows[:3])}"
        else:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return f"database {home.db_path} unreadable: {exc}"
    finally:
        db.close()
    return None


def certificate_problem(home: Home, now: datetime | None = None) -> str | None:
    now = now or datetime.now(UTC)
    try:
        cert = home.cert_chain().cert
    except Error as exc:
        return exc.diagnostics()
    if now < cert.not_valid_before_utc:
        return f"certificate not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    if now >= cert.not_valid_after_utc:
        return f"certificate expired {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    return None


def probe(home: Home, path: str) -> tuple[int, dict]:
    """The answer to one probe path: HTTP status and a JSON body naming the problems."""
    if path == "/healthz":
        found = [p for p in (database_problem(home),) if p]
    elif path == "/readyz":
        found = [p for p in (certificate_problem(home), database_problem(home, True)) if p]
    else:
        return 404, {"error": "unknown path: want /healthz or /readyz"}
    return (503 if found else 200), {"ok": not found, "problems": found}


class HealthServer:
    """The HTTP probe server, on its own thread."""

    def __init__(self, home: Home, address: str) -> None:
        host, _, port = address.rpartition(":")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code, body = probe(home, self.path)
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args) -> None:
                """Probes every few seconds would drown the log."""

        self.server = ThreadingHTTPServer((host, int(port)), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def set_uplink(servicer: health.HealthServicer, state: str) -> None:
    """SERVING only while the last exchange with the parent succeeded."""
    servicer.set(UPLINK_SERVICE, health_pb2.HealthCheckResponse.SERVING if state == "up"
                 else health_pb2.HealthCheckResponse.NOT_SERVING)
