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
    if folder:
        if path.exists() and not path.is_dir():
            raise OutputError(f"cannot write {what} {str(path)!r}: a file of that name exists")
    elif path.is_dir():
        raise OutputError(f"cannot write {what} {str(path)!r}: it is a folder")
    return path


def _temporary_name(path: Path) -> Path:
    # Keep the suffix: OpenCV and soundfile choose the container from it.
    return path.with_name(f".{path.stem}.vismic-tmp-{secrets.token_hex(4)}{path.suffix}")


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
def temporary_folder(path: Path, *, what: str):
    """Like :func:`temporary_file` for a folder; an existing folder at ``path`` is replaced."""
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
