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
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pki.errors import EnvironmentProblem, InputError

PUBLIC_MODE = 0o644
PRIVATE_MODE = 0o600


def write_atomic(path: str | os.PathLike, data: bytes, *, mode: int = PUBLIC_MODE,
                 replace: bool = True, what: str = "file") -> Path:
    """Put ``data`` at ``path`` all at once with ``mode``, durably.

    With ``replace=False`` an existing file is refused (InputError) and left as
    it was. ``what`` names the file in error messages ("key file", "bundle").
    """
    return _atomic(path, lambda fh: fh.write(data), mode=mode, replace=replace, what=what)


class SourceUnreadable(InputError):
    """``stream_atomic``'s source failed while being read (a damaged archive): the
    input's fault, told apart from a target that cannot be written."""


def stream_atomic(path: str | os.PathLike, source: IO[bytes], *, mode: int = PUBLIC_MODE,
                  what: str = "file") -> Path:
    """``write_atomic`` of what ``source`` reads, copied in chunks: a database of
    gigabytes is restored in constant memory, not read whole first. A read that fails
    raises SourceUnreadable, and nothing is left at ``path``."""
    def copy(fh: IO[bytes]) -> None:
        while True:
            try:
                chunk = source.read(_CHUNK)
            except (OSError, EOFError) as exc:
                raise SourceUnreadable(f"reading it for {what} {path} failed: {exc}") from exc
            if not chunk:
                return
            fh.write(chunk)

    return _atomic(path, copy, mode=mode, replace=True, what=what)


#: Bytes per read when streaming a file into place.
_CHUNK = 1 << 20


def _atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], object], *, mode: int,
            replace: bool, what: str) -> Path:
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {what} {target}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
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


#: Certificates, keys, requests and proofs are kilobytes; callers that read larger
#: files (bundles, catalogues) pass their own limit.
DEFAULT_READ_LIMIT = 16 * 1024 * 1024


def read_file(path: str | os.PathLike, what: str, *, limit: int = DEFAULT_READ_LIMIT) -> bytes:
    """A regular file's bytes, at most ``limit`` of them, or an error naming ``what``.

    A device, a fifo or a file larger than ``limit`` is refused (InputError)
    without reading it whole: ``/dev/zero`` or a gigabyte handed over by mistake
    must not hang the command or fill memory.
    """
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(f"{what} {path} is not a regular file")
            if info.st_size > limit:
                raise InputError(f"{what} {path} is {info.st_size:,} bytes, more than the "
                                 f"{limit:,} allowed")
            data = fh.read(limit + 1)
    except FileNotFoundError as exc:
        raise EnvironmentProblem(f"no {what} at {path}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{what} {path} is a folder, want a file") from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {what} {path}: {exc.strerror}") from exc
    if len(data) > limit:  # grew while we read it
        raise InputError(f"{what} {path} is more than the {limit:,} bytes allowed")
    return data
