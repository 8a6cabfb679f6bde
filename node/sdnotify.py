"""systemd's readiness and watchdog protocol (sd_notify(3)), in the few lines it takes.

Under ``Type=notify`` systemd sets NOTIFY_SOCKET and waits for ``READY=1``; with
``WatchdogSec`` it also sets WATCHDOG_USEC and restarts the service when
``WATCHDOG=1`` stops arriving. Outside systemd every call does nothing.
"""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send one datagram to NOTIFY_SOCKET; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]   # abstract socket namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode("utf-8"))
    return True


def watchdog_interval() -> float | None:
    """Half the watchdog timeout systemd asked for, in seconds; None when none is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000
