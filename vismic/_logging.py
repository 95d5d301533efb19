"""Logging for the ``vismic`` command line, and quiet OpenCV.

Library modules log through ``logging.getLogger(__name__)`` (children of the
``vismic`` logger) and never configure logging themselves; the command line
calls :func:`configure` once, with the verbosity of its ``-v``/``-q`` flags.

Every line the command line writes keeps one form a user can grep::

    vismic: error: ...       (always)
    vismic: warning: ...     (hidden by -q)
    vismic: ...              (informational, shown by -v)
    vismic: debug: ...       (-v -v)

Third-party C libraries write to the process's stderr directly, ahead of
vismic's one-line errors: OpenCV's own log (``[ WARN:0@...]`` lines, read from
``OPENCV_LOG_LEVEL`` when cv2 is first imported, or set with
``cv2.setLogLevel`` afterwards) and FFmpeg's (``[mjpeg @ 0x...] error dc``,
read from ``OPENCV_FFMPEG_LOGLEVEL`` when the first capture opens). Both are
silenced unless the user set those variables or asked for debug output.
Python warnings from other packages (scipy, ...) become debug lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings

from ._option_words import in_option_words

__all__ = ["configure", "import_cv2", "native_stderr_hidden", "quiet_opencv", "verbosity_level"]

LOGGER_NAME = "vismic"

# FFmpeg's AV_LOG_QUIET; OpenCV's cv::utils::logging::LOG_LEVEL_SILENT is 0.
_FFMPEG_QUIET = "-8"
_OPENCV_SILENT = 0


def verbosity_level(verbosity: int) -> int:
    """The logging level for a verbosity count: -1 (``-q``) errors only, 0 warnings, 1 info, 2+ debug.

    >>> verbosity_level(-1) == logging.ERROR, verbosity_level(0) == logging.WARNING
    (True, True)
    >>> verbosity_level(1) == logging.INFO, verbosity_level(3) == logging.DEBUG
    (True, True)
    """
    if verbosity < 0:
        return logging.ERROR
    return (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG


class _LineFormatter(logging.Formatter):
    """``vismic: warning: ...`` lines; warnings and errors name the command line's options."""

    _PREFIX = {logging.DEBUG: "vismic: debug: ", logging.INFO: "vismic: ", logging.WARNING: "vismic: warning: "}

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.ERROR:
            prefix = "vismic: error: "
        else:
            prefix = self._PREFIX.get(record.levelno, "vismic: ")
        text = record.getMessage()
        if record.levelno >= logging.WARNING:  # the library's words for Python turned into the options'
            text = in_option_words(text)
        text = prefix + text
        if record.exc_info and record.levelno <= logging.DEBUG:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest's capsys replaces it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; the property wins
        pass


_HANDLER = _StderrHandler()
_HANDLER.setFormatter(_LineFormatter())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    from .errors import VismicWarning

    logger = logging.getLogger(LOGGER_NAME)
    ours = issubclass(category, VismicWarning) or os.sep + "vismic" + os.sep in str(filename)
    if ours:
        logger.warning("%s", message)
    else:
        logger.debug("%s from %s:%s: %s", category.__name__, filename, lineno, message)


def quiet_opencv(verbosity: int = 0) -> None:
    """Keep OpenCV's and FFmpeg's own log lines off stderr (unless ``verbosity >= 2``).

    Environment variables the user set are left alone. Call it before cv2 is
    first imported where possible; if cv2 is already loaded its log level is
    set directly. FFmpeg's level is read when the first capture opens.
    """
    if verbosity >= 2:
        return
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", _FFMPEG_QUIET)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and os.environ["OPENCV_LOG_LEVEL"].upper() == "SILENT" and hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(_OPENCV_SILENT)


def import_cv2():
    """``import cv2`` with OpenCV's and FFmpeg's stderr chatter silenced (see :func:`quiet_opencv`).

    The readers in :mod:`vismic.io` import OpenCV through this, so a decoding
    error reaches the user as vismic's one line, not as FFmpeg's.
    """
    quiet_opencv()
    import cv2

    return cv2


def configure(verbosity: int = 0) -> logging.Logger:
    """Set up the ``vismic`` logger for the command line; call once per run (idempotent).

    Parameters
    ----------
    verbosity : int
        ``-1`` errors only (``-q``), ``0`` warnings (default), ``1`` informational
        lines (``-v``), ``2`` or more debug lines, OpenCV's and FFmpeg's own
        output, and other packages' Python warnings (``-vv``).

    Returns
    -------
    logging.Logger
        The ``vismic`` logger.
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(verbosity_level(verbosity))
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    warnings.showwarning = _show_warning
    quiet_opencv(verbosity)
    global _HIDE_NATIVE_STDERR
    _HIDE_NATIVE_STDERR = verbosity < 2
    return logger


#: Set by :func:`configure`: the command line hides what C libraries print outside their log levels.
_HIDE_NATIVE_STDERR = False


@contextlib.contextmanager
def native_stderr_hidden():
    """The process's stderr (file descriptor 2) sent to nothing for the block, on the command line below ``-vv``.

    OpenCV's AVI parser prints what it finds wrong with a file ("Unexpected list type.
    Expected: hdrl. Got: ..." and the header's bytes) straight to stderr, whatever its
    log level, ahead of vismic's own one-line error. Only in the main thread, where files
    are first opened before any reader thread runs: another thread's lines would go too.
    """
    if not _HIDE_NATIVE_STDERR or threading.current_thread() is not threading.main_thread():
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = os.dup(2)
        nothing = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no descriptor to spare: the lines stay
        yield
        return
    try:
        os.dup2(nothing, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(nothing)
