"""Reading the user's files and creating their output folders, with one-line errors that name the path and the fix.

Every file hwnas reads as text (recipes, ``arch.json``, tables, CSVs) goes through :func:`read_text`; every output
folder through :func:`make_dir`. Errors are :class:`FileError` (a ``UserError``): the CLI prints one line.
"""

from __future__ import annotations

import errno
import os
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
