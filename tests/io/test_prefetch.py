import threading

import pytest

from vismic.io._prefetch import prefetch


def test_order_and_all_items():
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_error_arrives_at_its_item():
    def items():
        yield 1
        yield 2
        raise OSError("disk went away")

    got = []
    with pytest.raises(OSError, match="disk went away"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1, 2]


def test_early_close_stops_the_reader():
    read = []

    def items():
        for i in range(10_000):
            read.append(i)
            yield i

    for item in prefetch(items(), depth=2):
        if item == 3:
            break
    assert len(read) < 10 and not any(t.name == "vismic-reader" for t in threading.enumerate())



def test_an_error_that_ends_the_program_leaves_it_cleanly():
    """An uncaught error keeps the generator suspended until the interpreter exits (its traceback holds
    it); a reader killed there inside a decoder's C++ code aborted the process (exit 134, no traceback)."""
    import subprocess
    import sys

    script = """
import cv2
import numpy as np
from vismic.io._prefetch import prefetch

encoded = cv2.imencode(".png", np.random.default_rng(0).integers(0, 256, (512, 512), dtype=np.uint8))[1]

def decoded():
    while True:
        yield cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)

frames = prefetch(decoded(), depth=100_000)  # never waits for a slot: always decoding
next(frames)
raise ValueError("the program ends here")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "ValueError: the program ends here" in done.stderr and "terminate called" not in done.stderr
