"""Reading the user's files and creating their output folders, with one-line errors that name the path and the fix.

Every file hwnas reads as text (recipes, ``arch.json``, tables, CSVs) goes through :func:`read_text`; every output
folder through :func:`make_dir`; every file it writes through :func:`write_bytes_atomic` (a temp file in the same
folder, fsync, rename: a crash or a full disk leaves the old file or the new one, never a torn one). Errors are
:class:`FileError` (a ``UserError``): the CLI prints one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from hwnas.api.errors import UserError


class FileError(UserError, OSError):
    """A file cannot be read as expected, or a folder cannot be created; the message names the path."""


def read_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """The UTF-8 text of ``path``; a missing file, a folder, unreadable bytes or no permission is a FileError.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.yaml"
        >>> _ = p.write_bytes(b"\\xff\\xfe")
        >>> try:
        ...     read_text(p, what="recipe")
        ... except FileError as e:
        ...     print("is not UTF-8 text (byte 0xff at position 0)" in str(e))
        True
    """
    p = Path(path)
    if p.is_dir():
        raise FileError(f"{what} {str(p)!r} is a folder, not a file: give the path of the file itself")
    if not p.exists():
        raise FileError(f"{what} {str(p)!r} does not exist")
    try:
        data = p.read_bytes()
    except PermissionError:
        raise FileError(f"{what} {str(p)!r} cannot be read: permission denied") from None
    except OSError as e:
        raise FileError(f"{what} {str(p)!r} cannot be read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileError(f"{what} {str(p)!r} is not UTF-8 text (byte 0x{data[e.start]:02x} at position {e.start}): "
                        f"is it the {what} you meant? Save it as UTF-8 text") from None


def make_dir(path: str | os.PathLike[str], *, what: str = "output folder", fix: str = "choose another path") -> Path:
    """Create ``path`` (and its parents) unless it exists; a file in the way or no permission is a FileError.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "f").write_text("")
        >>> try:
        ...     make_dir(d / "f" / "run", what="run folder", fix="set out_dir elsewhere")
        ... except FileError as e:
        ...     print(str(e).endswith("is a file, not a folder; set out_dir elsewhere"))
        True
    """
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((q for q in [p, *p.parents] if q.exists() and not q.is_dir()), p)
        raise FileError(f"cannot create {what} {str(p)!r}: {blocker} is a file, not a folder; {fix}") from None
    except PermissionError:
        raise FileError(f"cannot create {what} {str(p)!r}: permission denied; {fix}") from None
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise FileError(f"cannot create {what} {str(p)!r}: the disk is full; free space or {fix}") from None
        raise FileError(f"cannot create {what} {str(p)!r}: {e.strerror or e}; {fix}") from None
    return p


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes | memoryview, *, what: str = "file") -> Path:
    """Write ``data`` to ``path`` atomically; the folder must exist.

    The temp file has a unique name, so concurrent writers of one path (a shared cache) never mix their bytes;
    readers see the old file or a whole new one. A full disk or no permission is a FileError saying that the
    previous file is unchanged.

    Example:
        >>> import tempfile
        >>> p = write_bytes_atomic(Path(tempfile.mkdtemp()) / "a.json", b"{}")
        >>> p.read_bytes()
        b'{}'
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise _write_error(e, what, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, UserError):
            raise _write_error(e, what, path) from None
        raise
    fsync_dir(path.parent)
    return path


def _write_error(e: OSError, what: str, path: Path) -> FileError:
    kept = "the previous file is unchanged" if path.exists() else "nothing was written"
    if e.errno == errno.ENOSPC:
        return FileError(f"cannot write {what} {str(path)!r}: the disk is full ({kept}); free space and run again")
    if isinstance(e, PermissionError):
        return FileError(f"cannot write {what} {str(path)!r}: permission denied ({kept})")
    return FileError(f"cannot write {what} {str(path)!r}: {e.strerror or e} ({kept})")


def fsync_dir(d: Path) -> None:
    """Make a rename inside ``d`` durable (POSIX); a no-op where folders cannot be fsync'ed (Windows)."""
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def discard_unused_run_dir(path: str | os.PathLike[str], *, keep: tuple[str, ...] = ()) -> bool:
    """Remove a run folder that a failed start left with nothing but its config (and an empty ``checkpoints/``).

    A run that stopped on bad input before its first checkpoint leaves no litter; a folder holding anything
    else (a checkpoint, events, a user's file) is kept. Returns whether it was removed.
    """
    p = Path(path)
    if not p.is_dir():
        return False
    allowed = {"config.yaml", "checkpoints", *keep}
    entries = list(p.iterdir())
    if any(e.name not in allowed for e in entries):
        return False
    ckpts = p / "checkpoints"
    if ckpts.is_dir() and any(ckpts.iterdir()):
        return False
    with contextlib.suppress(OSError):
        for e in entries:
            e.rmdir() if e.is_dir() else e.unlink()
        p.rmdir()
        return True
    return False
