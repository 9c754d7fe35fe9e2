"""Decode ahead on a thread, so decoding and analysis overlap on separate cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetch(items: Iterator[T], depth: int = 8) -> Iterator[T]:
    """Iterate ``items`` on a background thread, at most ``depth`` items ahead.

    FFmpeg decoding and OpenCV resizing release the GIL, so a reader thread keeps the decoder
    busy while the caller analyses the previous frames. Exceptions raised by ``items`` are
    re-raised here, in order; stopping early (``break``) stops the thread.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        """Queue ``item`` unless the consumer has stopped (then give up: nobody will read)."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as e:  # handed to the consumer
            put(e)

    thread = threading.Thread(target=work, name="rushes-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=5)
