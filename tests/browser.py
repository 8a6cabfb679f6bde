"""Headless Chromium for the report suite: the rendered DOM, console messages, a screenshot.

Chromium (Debian's ``chromium`` package; .ci/run installs it) runs with
every host name unresolvable, so a page that tried to load anything from a
network would log "Failed to load resource" — a console error like any other.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

A4_AT_150_DPI = (1240, 1754)
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
          "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars"]
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(page: Path) -> tuple[str, list[str]]:
    """The DOM after loading, and every console message the page produced."""
    done = subprocess.run([chromium(), *_FLAGS, "--dump-dom", page.absolute().as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout, _CONSOLE.findall(done.stderr)


def screenshot(page: Path, png: Path, size: tuple[int, int] = A4_AT_150_DPI) -> None:
    subprocess.run([chromium(), *_FLAGS, f"--screenshot={png}",
                    f"--window-size={size[0]},{size[1]}", page.absolute().as_uri()],
                   capture_output=True, timeout=120, check=True)


def png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
