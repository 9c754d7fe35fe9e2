"""Decode-ahead: same items in order, errors re-raised, an early stop ends the thread."""

from __future__ import annotations

import threading
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
