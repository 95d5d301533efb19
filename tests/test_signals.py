import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = r"""
import sys, time
from pathlib import Path
from vismic._signals import terminate_as_interrupt
from vismic.io._atomic import temporary_file
out = Path(sys.argv[1])
try:
    with terminate_as_interrupt():
        with temporary_file(out, what="WAV file") as temporary:
            temporary.write_bytes(b"partial")
            print("ready", flush=True)
            time.sleep(30)
except KeyboardInterrupt as stop:
    print("stopped", stop, flush=True)
    sys.exit(128 + getattr(stop, "signum", 2))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, getattr(signal, "SIGHUP", 1)])
def test_termination_leaves_no_temporary_file(tmp_path, signum):
    out = tmp_path / "out.wav"
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], stdout=subprocess.PIPE, text=True,
                               cwd=os.getcwd())
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signum)
    process.wait(timeout=20)
    assert process.returncode == 128 + signum
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_before_the_run_begins_is_one_line(monkeypatch, capsys):
    # while the parser and the first modules load, before the run's own handlers (a traceback through scipy)
    from vismic import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["recover", "clip.avi"]) == 130
    assert capsys.readouterr().err == "vismic: interrupted\n"


def test_an_error_raised_while_handling_ctrl_c_is_the_interruption(monkeypatch, capsys):
    # Ctrl-C inside a queue's lock release left "RuntimeError: release unlocked lock", shown as a bug in vismic
    from vismic import cli

    def interrupted_in_a_lock(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("release unlocked lock")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["demo"].set_defaults(func=interrupted_in_a_lock)
    assert cli.main(["demo"]) == 130
    assert capsys.readouterr().err == "vismic: interrupted\n"


def test_a_stopped_pool_does_not_wait_for_its_tasks():
    # a pool shut down as a context manager waited for its workers; after a signal that wait could hang
    from vismic.project._parallel import process_pool, stop_pool

    pool = process_pool(1)
    pool.submit(time.sleep, 60)
    workers = list(pool._processes.values())
    stop_pool(pool)
    assert workers and all(_ended(worker) for worker in workers)  # stopped, not left to finish the sleep


def _ended(process) -> bool:
    """Whether a process has ended: ``is_alive`` reads True for ever once another waiter (an earlier test's
    child watcher) reaped it, so the pid is asked too."""
    if not process.is_alive():
        return True
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return True
    return False


def _sigint_disposition(queue):
    queue.put(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_workers_start_ignoring_ctrl_c_before_they_import_anything():
    # a Ctrl-C in a --workers run's first second reached workers still importing numpy and scipy, before their
    # initializer ignored it: 11 of 16 runs stopped at 0.45-1.35 s printed the workers' tracebacks (one-off)
    import multiprocessing

    from vismic.project._parallel import _children_ignore_interrupts

    context = multiprocessing.get_context("spawn")
    seen = []
    for ignored in (True, False):
        queue = context.Queue()
        with _children_ignore_interrupts() if ignored else contextlib.nullcontext():
            child = context.Process(target=_sigint_disposition, args=(queue,))
            child.start()
        seen.append(queue.get(timeout=60))
        child.join(timeout=60)
    assert seen == [True, False]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the parent's own, given back
