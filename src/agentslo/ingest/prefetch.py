"""Read the next chunk of a file while the store writes the current one.

Parquet decoding and column validation (pyarrow) and DuckDB's insert both release
the GIL, so running the reader one chunk ahead in a thread overlaps them. At most
``depth`` chunks wait in the queue, which bounds the memory this costs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Final, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")

_POLL_SECONDS: Final = 0.1


class _Done:
    """End of the stream, with the reader's exception if it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetched(items: Iterator[T], *, depth: int = 1) -> Generator[T, None, None]:
    """Yield the items of ``items``, producing each one ahead in a background thread.

    Exceptions of the reader surface at the same point of the stream as they would
    without the thread. Closing this generator early (the consumer failed) stops
    the reader and closes ``items`` in the reader's thread.
    """
    slots: queue.Queue[T | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: T | _Done) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
        except BaseException as exc:  # forwarded to the consumer, re-raised there
            offer(_Done(exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        offer(_Done())

    reader = threading.Thread(target=produce, name="agentslo-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = slots.get()
            if isinstance(item, _Done):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        reader.join()
