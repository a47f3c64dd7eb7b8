"""The receiver's settings, as one value object the CLI and the tests build."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from agentslo.ingest.prices import PriceTable
from agentslo.ingest.redact import Redactor
from agentslo.server.evaluators import PeriodicEvaluator
from agentslo.slo import SLOSpec

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_DECODED", "ServerConfig"]

#: Largest request body accepted on the wire (compressed), bytes.
DEFAULT_MAX_BODY: Final = 16 * 1024 * 1024
#: Largest body after gzip decompression, bytes (a zip bomb stops here).
DEFAULT_MAX_DECODED: Final = 64 * 1024 * 1024


@dataclass
class ServerConfig:
    """Everything ``agentslo serve`` is told; defaults suit a laptop."""

    db: Path
    #: None: authenticate every request by its bearer key. A name: no auth, this project.
    no_auth_project: str | None = None
    capture_content: bool = False
    redactor: Redactor | None = None
    prices: PriceTable | None = None
    slos: list[SLOSpec] = field(default_factory=list)
    max_body: int = DEFAULT_MAX_BODY
    max_decoded: int = DEFAULT_MAX_DECODED
    #: Spans (and outcomes) accepted and not yet in the database before requests are
    #: shed with 429: room for the backlog of a checkpoint at 50,000 spans/s.
    max_queued: int = 500_000
    #: Largest group commit, in spans.
    max_batch: int = 50_000
    #: The writer lingers for a group of this many spans ...
    min_group: int = 2_000
    #: ... up to this long after the first of them was acknowledged.
    linger_s: float = 0.02
    #: A read waits up to this long for the database to have every acknowledged span.
    read_wait_s: float = 10.0
    #: Spans starting further than this in the future are refused.
    max_future_s: float = 3600.0
    #: Worker processes that decode and map request bodies (0: in the server process).
    decode_workers: int = 0
    #: DuckDB worker threads (None: DuckDB's default, one per CPU). The writer's
    #: group commits are small queries for which extra threads cost more CPU than
    #: they save; reads (reports, /metrics) use them too.
    store_threads: int | None = None
    #: SLO evaluations are reused for this long by /metrics (they scan the window).
    slo_cache_s: float = 15.0
    #: Periodic evaluators run by the server (e.g. gates); each gets the store.
    evaluators: list[PeriodicEvaluator] = field(default_factory=list)
