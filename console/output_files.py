"""Every file fleetctl writes goes through `write_atomic`: all of it or none of it.

The data goes to a temporary file in the target's folder, is fsynced, then renamed
over the target, so a reader never sees half a file, and a failure (disk full,
permission denied, a signal) leaves the old file as it was. The new file keeps the
old one's permission bits (or gets the umask's, as `open` would). A symlink is
followed: the file it points to is replaced, the link stays.

`-` means standard output. An existing target that is not a regular file (a FIFO, a
device, a socket, a folder) is refused: renaming over it would be wrong, and opening a
FIFO waits for a reader forever.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Union

STDOUT = "-"


class OutputError(OSError):
    """An output file could not be written; `str()` is one line naming the file and the cause.

    `usage` is True when the target itself is wrong (not a regular file): a bad argument
    (exit 2) rather than a failure of the machine (exit 1)."""

    def __init__(self, message: str, code: int = 0, usage: bool = False):
        super().__init__(code, message)
        self.message, self.usage = message, usage

    def __str__(self) -> str:
        return self.message


def is_stdout(path: Union[str, os.PathLike, None]) -> bool:
    return path is not None and os.fspath(path) == STDOUT


def check_target(path: Union[str, os.PathLike]) -> None:
    """Raise OutputError(usage=True) when `path` exists and is not a regular file (or a link to one)."""
    if is_stdout(path):
        return
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{path}: {exc.strerror or exc}", exc.errno or 0) from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{path}: {_kind(st.st_mode)}, not a regular file: give a file name",
                          errno.EINVAL, usage=True)


def write_atomic(path: Union[str, os.PathLike], data: Union[str, bytes]) -> None:
    """Replace `path` with `data` (str is written as UTF-8) atomically; `-` writes to stdout.

    Raises OutputError (an OSError) with a one-line message; the old file is then untouched."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if is_stdout(path):
        _to_stdout(raw)
        return
    check_target(path)
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise _error(path, exc) from None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            _write_all(fd, raw)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        tmp = None
        _fsync_dir(target.parent)
    except OSError as exc:
        raise _error(path, exc) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _write_all(fd: int, raw: bytes) -> None:
    view = memoryview(raw)
    while view:
        view = view[os.write(fd, view):]


def _to_stdout(raw: bytes) -> None:
    try:
        out = sys.stdout.buffer
        out.write(raw)
        out.flush()
    except OSError as exc:
        raise _error(Path("(standard output)"), exc) from None


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: some file systems refuse a folder fsync)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _error(path, exc: OSError) -> OutputError:
    if isinstance(exc, OutputError):
        return exc
    reason = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
              errno.EFBIG: "file too large", errno.EACCES: "permission denied",
              errno.EROFS: "read-only file system"}.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputError(f"cannot write {path}: {reason}; nothing was changed there", exc.errno or 0)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    return "is a special file"


def _umask() -> int:
    """The process umask, read without changing it (Linux), else by setting it back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old
