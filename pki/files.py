"""Writing a file so that a crash or a pulled-out stick never leaves half of it.

Certificates, keys, config files and bundles all go through ``write_atomic``:
the bytes go to a temporary file in the same folder, created with its final
mode (a key is never readable by others, not even for a moment), are fsynced,
and the file is then renamed (or hard-linked, when an existing file must not be
replaced) into place; the folder is fsynced too, because the rename is an entry
in the folder and is lost on power failure until the folder is on disk. It lives
in pki, the lowest layer, so that sync and node write files the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from pki.errors import EnvironmentProblem, InputError

PUBLIC_MODE = 0o644
PRIVATE_MODE = 0o600


def write_atomic(path: str | os.PathLike, data: bytes, *, mode: int = PUBLIC_MODE,
                 replace: bool = True, what: str = "file") -> Path:
    """Put ``data`` at ``path`` all at once with ``mode``, durably.

    With ``replace=False`` an existing file is refused (InputError) and left as
    it was. ``what`` names the file in error messages ("key file", "bundle").
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {what} {target}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)
        _sync_folder(target.parent)
    except FileExistsError as exc:
        raise InputError(f"refusing to overwrite existing {what} {target}") from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {what} {target}: {exc.strerror or exc}"
                                 ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: str | os.PathLike, what: str) -> bytes:
    """A file's bytes, or an EnvironmentProblem naming what was missing or unreadable."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise EnvironmentProblem(f"no {what} at {path}") from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {what} {path}: {exc.strerror}") from exc
