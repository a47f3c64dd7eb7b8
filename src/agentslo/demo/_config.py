"""What to generate: the fleet's size, window and seed, as one frozen value object."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["MAX_CHUNK_RUNS", "FleetConfig"]

#: Runs per generated batch at most: a chunk's spans must fit one Arrow string
#: buffer (2 GiB) and a batch should stay a modest share of memory.
MAX_CHUNK_RUNS: Final = 1_000_000


@dataclass(frozen=True)
class FleetConfig:
    """Size, time window and seed of a synthetic fleet.

    ``runs`` runs of ``agents`` agents over ``days`` days ending at ``end`` (None:
    now in UTC, floored to the minute; aware datetimes are converted to UTC, naive
    ones are taken as UTC). ``spans=False`` skips the span table (the runs and
    outcomes are unchanged). ``chunk_runs`` is the number of runs per batch; it does
    not change the data, only how it is cut. ``transcripts`` is the share of runs that
    carry full text (instruction, messages, tool arguments and results), healthy or
    with one injected failure mode each (see ``GroundTruth.failure_modes``).
    """

    runs: int = 20_000
    agents: int = 6
    days: float = 14.0
    seed: int = 7
    end: datetime | None = None
    project: str = "default"
    spans: bool = True
    chunk_runs: int = 100_000
    transcripts: float = 0.04

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ValueError(f"runs={self.runs}: a fleet needs at least 1 run")
        if self.agents < 1:
            raise ValueError(f"agents={self.agents}: a fleet needs at least 1 agent")
        if not self.days * 86_400 >= 3_600:
            raise ValueError(f"days={self.days}: the window must be at least one hour")
        if self.seed < 0:
            raise ValueError(f"seed={self.seed}: use a non-negative integer")
        if not 1 <= self.chunk_runs <= MAX_CHUNK_RUNS:
            raise ValueError(f"chunk_runs={self.chunk_runs}: use between 1 and {MAX_CHUNK_RUNS:,}")
        if not 0.0 <= self.transcripts <= 1.0:
            raise ValueError(
                f"transcripts={self.transcripts}: use a share between 0 and 1 (e.g. 0.04)"
            )
        if not self.project:
            raise ValueError("project is empty; give the project a name (e.g. 'default')")

    def resolved(self) -> FleetConfig:
        """This config with ``end`` fixed to an instant (UTC, naive).

        Resolve once and pass the result on when the same fleet is generated in
        several calls: with ``end=None`` each call would otherwise read the clock.
        """
        if self.end is None:
            now = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
            return dataclasses.replace(self, end=now)
        if self.end.tzinfo is not None:
            return dataclasses.replace(self, end=self.end.astimezone(UTC).replace(tzinfo=None))
        return self

    @property
    def window(self) -> tuple[datetime, datetime]:
        """Start and end of the generated window (naive UTC); resolves ``end``."""
        end = self.resolved().end
        assert end is not None
        return end - timedelta(days=self.days), end
