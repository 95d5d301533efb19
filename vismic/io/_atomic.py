"""Atomic output: write to a temporary name next to the destination, then ``os.replace``."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path

from ..errors import OutputError


def check_destination(path, *, what: str, folder: bool = False) -> Path:
    """The destination as a Path whose parent folder exists, or :class:`OutputError`."""
    if not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"the {what} path must be a string or path, given {path!r}")
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(
            f"cannot write {what} {str(path)!r}: the folder {str(parent)!r} does not exist"
        )
    _check_name_length(path, what)
    if folder:
        if path.exists() and not path.is_dir():
            raise OutputError(f"cannot write {what} {str(path)!r}: a file of that name exists")
    elif path.is_dir():
        raise OutputError(f"cannot write {what} {str(path)!r}: it is a folder")
    elif path.is_file() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {what} {str(path)!r}: the file is read-only")
    return path


def _check_name_length(path: Path, what: str) -> None:
    """Refuse a name the file system cannot hold, before any work is done."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    length = len(os.fsencode(path.name))
    if length > limit:
        raise OutputError(
            f"cannot write {what} {str(path)!r}: its name is {length} bytes long and this file system "
            f"allows {limit}; choose a shorter name"
        )


#: Written into every frame folder vismic creates; only such a folder is replaced without ``overwrite``.
FOLDER_MARK = ".vismic-frames"


def _real(path) -> str:
    return os.path.realpath(os.fspath(path))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(output, inputs, *, what: str, kind: str = "the input") -> None:
    """Refuse an ``output`` that would overwrite or delete one of ``inputs``.

    The output may not resolve (through symbolic links, or as a hard link) to an
    input file or folder, lie inside an input folder, or be a folder that holds
    an input. ``inputs`` entries that are None are skipped; ``kind`` names them in the message.

    Raises
    ------
    OutputError
        Naming the output and the input it would destroy.
    """
    out = _real(output)
    for source in inputs:
        if source is None or not isinstance(source, (str, os.PathLike)):
            continue
        real = _real(source)
        if _inside(out, real) or _inside(real, out) or _same_file(output, source):
            raise OutputError(
                f"refusing to write {what} {os.fspath(output)!r}: it would overwrite {kind} "
                f"{os.fspath(source)!r}; choose another output path"
            )


def check_replaceable_folder(path: Path, *, what: str, overwrite: bool) -> None:
    """Refuse to replace an existing non-empty folder that vismic did not write, unless ``overwrite``."""
    if overwrite or not path.is_dir():
        return
    try:
        entries = [entry.name for entry in os.scandir(path)]
    except OSError as error:
        raise OutputError(f"cannot write {what} {str(path)!r}: {error.strerror}") from None
    if entries and FOLDER_MARK not in entries:
        raise OutputError(
            f"refusing to replace {what} {str(path)!r}: the folder exists, is not empty and was not "
            "written by vismic; choose a new or empty folder (or pass --overwrite to replace it)"
        )


def _temporary_name(path: Path) -> Path:
    # Short whatever the output's name (a legal 250-byte name must not overflow the file
    # system's limit), ASCII (OpenCV crashes on names that are not UTF-8), and keeping the
    # suffix, from which OpenCV and soundfile choose the container.
    suffix = path.suffix if path.suffix.isascii() and len(path.suffix) <= 16 else ""
    return path.with_name(f".vismic-tmp-{secrets.token_hex(4)}{suffix}")


@contextlib.contextmanager
def temporary_file(path: Path, *, what: str):
    """Yield a new, empty temporary file next to ``path``; on success move it onto ``path``.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    for _ in range(100):
        temporary = _temporary_name(path)
        try:
            # 0o666 filtered by the umask: the permissions a plain open() would give.
            os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            break
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(f"cannot write {what} {str(path)!r}: {error.strerror}") from None
    else:  # pragma: no cover - 100 random collisions
        raise OutputError(f"cannot create a temporary file next to {str(path)!r}")
    try:
        yield temporary
        if path.is_file():  # the file replaced keeps its permissions
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        if isinstance(error, OutputError):
            raise
        raise OutputError(f"cannot write {what} {str(path)!r}: {error}") from error
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def temporary_folder(path: Path, *, what: str, overwrite: bool = False):
    """Like :func:`temporary_file` for a folder.

    An existing folder at ``path`` is replaced only when it is empty, was written
    by vismic (holds :data:`FOLDER_MARK`), or ``overwrite`` is true; otherwise
    :class:`OutputError` is raised before anything is written.
    """
    check_replaceable_folder(path, what=what, overwrite=overwrite)
    for _ in range(100):
        temporary = _temporary_name(path)
        try:
            os.mkdir(temporary, 0o777)
            break
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(f"cannot write {what} {str(path)!r}: {error.strerror}") from None
    else:  # pragma: no cover
        raise OutputError(f"cannot create a temporary folder next to {str(path)!r}")
    try:
        yield temporary
        if path.exists():
            old = _temporary_name(path)
            os.replace(path, old)
            try:
                os.replace(temporary, path)
            except OSError:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, path)
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(error, OutputError):
            raise
        raise OutputError(f"cannot write {what} {str(path)!r}: {error}") from error
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
