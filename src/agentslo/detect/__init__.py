"""Failure-mode detectors over traces: loops, unrecovered faults, premature endings,
context lost at hand-offs, drift, cascading errors with their root cause, and the
gap between what an agent claims and what it did.

Each detector is a pure function of a :class:`Trace` (a run's spans in step order)
returning :class:`agentslo.model.Finding` records with their evidence;
:func:`run_detectors` runs them over the store incrementally and
:func:`finding_rates` turns findings into per-agent/version rates;
:func:`label_agreement` scores a detector against people's labels in the store.

The optional LLM judge (:func:`run_judge`, off by default) asks a model behind an
OpenAI-compatible endpoint about the semantic modes, keeps only answers that pass
its checks, and :func:`judge_agreement` compares it with the detectors.
"""

from __future__ import annotations

from agentslo.detect._agreement import label_agreement
from agentslo.detect._judge_agreement import judge_agreement
from agentslo.detect._judge_prompt import JUDGE_MODES
from agentslo.detect._rates import RATE_MODES, finding_rates
from agentslo.detect._registry import DETECTORS, Detector, resolve
from agentslo.detect._run import DetectSummary, load_traces, run_detectors
from agentslo.detect._trace import Trace, instruction_of
from agentslo.detect.judge import JudgeConfig, JudgeSummary, run_judge
from agentslo.detect.root_cause import Attribution, attribute

__all__ = [
    "DETECTORS",
    "JUDGE_MODES",
    "RATE_MODES",
    "Attribution",
    "DetectSummary",
    "Detector",
    "JudgeConfig",
    "JudgeSummary",
    "Trace",
    "attribute",
    "finding_rates",
    "instruction_of",
    "judge_agreement",
    "label_agreement",
    "load_traces",
    "resolve",
    "run_detectors",
    "run_judge",
]
