"""Decode-ahead: same items in order, errors re-raised, an early stop ends the thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from rushes.media.prefetch import prefetch


def test_same_items_in_order() -> None:
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_errors_are_re_raised_after_the_good_items() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad frame 3")

    got = []
    with pytest.raises(ValueError, match="bad frame 3"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1, 2]


def test_early_break_stops_the_thread() -> None:
    before = threading.active_count()
    for x in prefetch(iter(range(10_000)), depth=2):
        if x == 5:
            break
    assert threading.active_count() == before


def test_early_close_does_not_wait_on_a_full_queue() -> None:
    # the producer has read everything and waits to queue the end marker behind a full queue
    gen = prefetch(iter(range(3)), depth=2)  # 0 taken, 1 and 2 fill the queue
    assert next(gen) == 0
    time.sleep(0.3)
    t0 = time.perf_counter()
    gen.close()
    assert time.perf_counter() - t0 < 1.0  # the join would time out after 5 s if it hung
