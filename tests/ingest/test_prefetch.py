"""The read-ahead thread: same items, same errors, and it stops when the consumer does."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from agentslo.ingest.prefetch import prefetched


def test_items_arrive_in_order() -> None:
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))


def test_a_reader_error_surfaces_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    seen: list[int] = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetched(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_and_closes_the_reader() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def items() -> Iterator[int]:
        try:
            for i in range(1_000_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = prefetched(items(), depth=1)
    assert next(stream) == 0
    stream.close()
    assert closed.is_set()
    assert len(produced) <= 4  # one in hand, one queued, one offered: never ran ahead
    assert not any(t.name == "agentslo-prefetch" for t in threading.enumerate())
