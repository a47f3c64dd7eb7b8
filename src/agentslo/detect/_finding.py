"""Building ``Finding`` records with stable ids, so a rerun replaces rather than copies."""

from __future__ import annotations

import hashlib
from typing import Any

from agentslo.detect._trace import Trace
from agentslo.model import Finding, Severity

__all__ = ["finding"]


def finding(
    trace: Trace,
    detector: str,
    mode: str,
    step: int | None,
    severity: Severity,
    evidence: dict[str, Any],
) -> Finding:
    """A finding of ``detector`` on ``trace`` at ``step`` (None: the run as a whole).

    The id hashes project, run, detector, mode and span, so analysing a run again
    overwrites its earlier findings (the store replaces findings by id).
    """
    span = trace.spans[step] if step is not None and step < len(trace.spans) else None
    span_id = span.span_id if span is not None else None
    key = "\x1f".join([trace.project, trace.run_id, detector, mode, span_id or ""])
    return Finding(
        project=trace.project,
        finding_id=hashlib.sha1(key.encode()).hexdigest(),
        run_id=trace.run_id,
        span_id=span_id,
        detector=detector,
        mode=mode,
        severity=severity,
        agent=(span.agent if span is not None else None) or trace.agent,
        step=step,
        evidence=evidence,
    )
