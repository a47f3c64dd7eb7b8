"""Deterministic OpenTelemetry-shaped ids, hashed from (seed, run, position).

Ids are a pure function of the seed and the run's global index, so the same run
gets the same trace and span ids however the fleet is cut into chunks. Formatting
goes straight to Arrow buffers: a Python ``format`` per id would dominate the time
for tens of millions of spans.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["hex_ids", "mix64"]

U64 = npt.NDArray[np.uint64]

_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_M1: Final = np.uint64(0xBF58476D1CE4E5B9)
_M2: Final = np.uint64(0x94D049BB133111EB)
#: The four hex digits of every 16-bit value, as the bytes of one uint32 each.
_HEX4: Final = np.frombuffer(b"".join(f"{i:04x}".encode() for i in range(65_536)), dtype=np.uint32)


def mix64(x: npt.NDArray[np.integer] | np.uint64) -> U64:
    """SplitMix64 finaliser: a bijective, well-mixed hash of each 64-bit value."""
    with np.errstate(over="ignore"):  # wrap-around is the point
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def hex_ids(*words: U64) -> pa.StringArray:
    """Lower-case hex strings of the concatenated big-endian ``words`` (16 chars each)."""
    n = len(words[0])
    pieces = np.stack([w.astype(">u8") for w in words], axis=1).view(">u2")
    data = _HEX4[pieces].view(np.uint8).reshape(-1)
    width = 16 * len(words)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
