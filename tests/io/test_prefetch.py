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
