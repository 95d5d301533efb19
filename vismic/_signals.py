"""SIGTERM and SIGHUP unwind like Ctrl-C, so that every ``with`` block removes its temporary files."""

from __future__ import annotations

import contextlib
import signal

__all__ = ["Terminated", "terminate_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM or SIGHUP)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def terminate_as_interrupt():
    """Inside the block, SIGTERM and SIGHUP raise :class:`Terminated` (a ``KeyboardInterrupt``).

    The default action of those signals kills the process at once, leaving any
    temporary output behind; raising instead runs every cleanup on the way out.
    Only the main thread can install handlers; elsewhere this does nothing.
    """
    installed = {}
    try:
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                try:
                    installed[number] = signal.signal(number, _raise)
                except ValueError:  # not the main thread
                    break
        yield
    finally:
        for number, previous in installed.items():
            signal.signal(number, previous)
