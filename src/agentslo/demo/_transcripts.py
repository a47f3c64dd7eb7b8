"""Transcript runs: the scripts as arrays, which runs get one, their spans and their truth.

A share of the fleet's runs (``FleetConfig.transcripts``) carries full text: the
instruction on the root span, what each model call said, each tool call's arguments
and result, each hand-off's payload. Of those runs, ``HEALTHY_SHARE`` follow a
healthy script and the rest one script per failure mode (equal shares), so each
detector meets both its failure and the healthy traffic it must leave alone.

The scripts (see :mod:`agentslo.demo._scripts`) are compiled once per plan into flat
arrays: per script its counts and outcome parameters, per entry its kind, agent
role, tool, error, text indices and time fractions. Generating the spans of a block
of transcript runs is then numpy gathers, as for the rest of the fleet.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from agentslo.demo._domains import DOMAINS, domain_of, entities_for
from agentslo.demo._ids import hex_ids, mix64
from agentslo.demo._scripts import (
    FAILURE_SCENARIOS,
    HEALTHY_SCENARIOS,
    MODES,
    ROOT_LIMIT_ERRORS,
    Script,
    write_script,
)
from agentslo.model import SPAN_KINDS

__all__ = [
    "HEALTHY_SHARE",
    "TRUTH_KIND",
    "VARIANTS",
    "Transcripts",
    "build_transcripts",
    "extra_errors",
    "extra_subs",
    "extra_tools",
    "pick_scripts",
    "truth_rows",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: Share of transcript runs that follow a healthy script.
HEALTHY_SHARE: Final = 0.4
#: Scripts written per (domain, scenario), each with its own entities and choices.
VARIANTS: Final = 16
#: ``kind`` of the ground-truth rows of transcript runs.
TRUTH_KIND: Final = "transcript"


def extra_tools() -> list[str]:
    """Tool names the scripts call, to add to the fleet's tool vocabulary."""
    names = []
    for d in DOMAINS:
        names += [d.lookup, d.change, d.check, d.notify, d.search, d.violation_tool]
    return list(dict.fromkeys(names))


def extra_subs() -> list[str]:
    """Sub-agent names of the scripts' multi-agent runs."""
    return list(dict.fromkeys(s for d in DOMAINS for s in d.subs))


def extra_errors() -> list[str]:
    """Error types the scripts use on root spans."""
    return list(ROOT_LIMIT_ERRORS)


@dataclass(frozen=True, eq=False)
class Transcripts:
    """The compiled scripts of a plan and how runs are assigned to them."""

    scenarios: tuple[str, ...]
    scenario_cum: F64
    script_id: I64  # [domain, scenario, variant] -> script
    agent_domain: I64  # [agent] -> domain
    role_sub: I64  # [domain, 4] -> sub_names index (column 0 unused)
    scripts: tuple[Script, ...]
    # per script
    offset: I64
    length: I64
    n_llm: I64
    n_tool: I64
    n_error: I64
    n_timeout: I64
    n_handoff: I64
    root_error: I64  # error_names index, -1 for none
    success: F64  # nan: the agent's own success rate
    claims: I64  # 1 claims success, 0 claims failure, -1 as usual
    instruction: I64  # texts index
    root_output: I64  # texts index, -1 for none
    # per entry, flat over scripts
    kind: I64
    role: I64
    to_role: I64
    parent: I64
    tool: I64
    etype: I64
    input: I64
    output: I64
    attrs: I64
    t0: F64
    t1: F64
    llm_j: I64
    texts: pa.Array
    attributes: pa.Array


class _Vocab:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str | None) -> int:
        if text is None:
            return -1
        return self.index.setdefault(text, len(self.index))

    def array(self) -> pa.Array:
        return pa.array(list(self.index), pa.string())


@lru_cache(maxsize=4)
def _written(seed: int) -> tuple[Script, ...]:
    """Every script of every domain, scenario and variant, in that order."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    prng = random.Random(int(rng.integers(2**63)))
    return tuple(
        write_script(scenario, domain, entities_for(prng), prng, v)
        for domain in DOMAINS
        for scenario in (*HEALTHY_SCENARIOS, *FAILURE_SCENARIOS)
        for v in range(VARIANTS)
    )


def build_transcripts(
    seed: int,
    agent_names: list[str],
    tools: dict[str, int],
    errors: dict[str, int],
    subs: dict[str, int],
) -> Transcripts:
    """The scripts of fleet seed ``seed``, compiled into arrays over these vocabularies."""
    scenarios = (*HEALTHY_SCENARIOS, *FAILURE_SCENARIOS)
    weights = np.asarray(
        [HEALTHY_SHARE / len(HEALTHY_SCENARIOS)] * len(HEALTHY_SCENARIOS)
        + [(1.0 - HEALTHY_SHARE) / len(FAILURE_SCENARIOS)] * len(FAILURE_SCENARIOS)
    )
    cum = np.cumsum(weights) / weights.sum()
    cum[-1] = 1.0
    scripts = _written(seed)
    script_id = np.arange(len(scripts), dtype=np.int64).reshape(
        len(DOMAINS), len(scenarios), VARIANTS
    )
    texts, attributes = _Vocab(), _Vocab()
    kinds = {k: i for i, k in enumerate(SPAN_KINDS)}
    per_entry: dict[str, list[Any]] = {
        k: []
        for k in (
            "kind", "role", "to_role", "parent", "tool", "etype", "input", "output", "attrs",
            "t0", "t1", "llm_j",
        )
    }  # fmt: skip
    counts: dict[str, list[Any]] = {
        k: []
        for k in (
            "offset", "length", "n_llm", "n_tool", "n_error", "n_timeout", "n_handoff",
            "root_error", "success", "claims", "instruction", "root_output",
        )
    }  # fmt: skip
    total = 0
    for script in scripts:
        entries = script.entries
        counts["offset"].append(total)
        counts["length"].append(len(entries))
        counts["n_llm"].append(sum(e.kind == "llm" for e in entries))
        counts["n_tool"].append(sum(e.kind == "tool" for e in entries))
        counts["n_error"].append(sum(e.kind == "tool" and bool(e.error_type) for e in entries))
        counts["n_timeout"].append(sum(e.error_type == "timeout" for e in entries))
        counts["n_handoff"].append(sum(e.kind == "handoff" for e in entries))
        counts["root_error"].append(errors[script.root_error] if script.root_error else -1)
        counts["success"].append(np.nan if script.success is None else script.success)
        counts["claims"].append(-1 if script.claims is None else int(script.claims))
        counts["instruction"].append(texts(script.instruction))
        counts["root_output"].append(texts(script.root_output))
        j = 0
        for entry, (t0, t1) in zip(entries, script.times, strict=True):
            per_entry["kind"].append(kinds[entry.kind])
            per_entry["role"].append(entry.role)
            per_entry["to_role"].append(entry.to_role)
            per_entry["parent"].append(entry.parent)
            per_entry["tool"].append(tools[entry.tool] if entry.tool else -1)
            per_entry["etype"].append(errors[entry.error_type] if entry.error_type else -1)
            per_entry["input"].append(texts(entry.input))
            per_entry["output"].append(texts(entry.output))
            per_entry["attrs"].append(attributes(entry.attributes))
            per_entry["t0"].append(t0)
            per_entry["t1"].append(t1)
            per_entry["llm_j"].append(j if entry.kind == "llm" else -1)
            j += entry.kind == "llm"
        total += len(entries)
    role_sub = np.full((len(DOMAINS), 4), -1, dtype=np.int64)
    for d, domain in enumerate(DOMAINS):
        role_sub[d, 1:] = [subs[s] for s in domain.subs]

    def ints(values: list[Any]) -> I64:
        return np.asarray(values, dtype=np.int64)

    def floats(values: list[Any]) -> F64:
        return np.asarray(values, dtype=np.float64)

    return Transcripts(
        scenarios=scenarios,
        scenario_cum=np.asarray(cum, dtype=np.float64),
        script_id=script_id,
        agent_domain=ints([domain_of(a, i) for i, a in enumerate(agent_names)]),
        role_sub=role_sub,
        scripts=scripts,
        success=floats(counts.pop("success")),
        **{k: ints(v) for k, v in counts.items()},
        t0=floats(per_entry.pop("t0")),
        t1=floats(per_entry.pop("t1")),
        **{k: ints(v) for k, v in per_entry.items()},
        texts=texts.array(),
        attributes=attributes.array(),
    )


def pick_scripts(
    tr: Transcripts, rng: np.random.Generator, agent: I64, share: float, eligible: npt.NDArray[Any]
) -> I64:
    """The script of each run (-1: an ordinary run without text).

    Always draws the same numbers per run, so which runs carry transcripts does not
    change anything else the block draws.
    """
    n = len(agent)
    u, scenario_u = rng.random(n), rng.random(n)
    variant = rng.integers(0, VARIANTS, size=n)
    scenario = np.minimum(
        np.searchsorted(tr.scenario_cum, scenario_u, side="right"), len(tr.scenarios) - 1
    )
    chosen = tr.script_id[tr.agent_domain[agent], scenario, variant]
    return np.asarray(np.where((u < share) & eligible, chosen, -1), dtype=np.int64)


def truth_rows(
    tr: Transcripts,
    project: str,
    run_ids: pa.StringArray,
    run_key: npt.NDArray[np.uint64],
    script: I64,
    claim_gap: npt.NDArray[np.bool_],
    agent_names: list[str],
    sub_names: list[str],
    agent: I64,
) -> pa.Table:
    """Ground-truth rows of the transcript runs among ``run_ids``: one per run, its
    scenario and every failure case in it (mode, detector, step, agent, span id)."""
    local = np.flatnonzero(script >= 0)
    cases: list[tuple[int, str, int | None, str | None]] = []
    for i in local:
        s = tr.scripts[int(script[i])]
        d = int(tr.agent_domain[agent[i]])
        for case in s.cases:
            if case.role is None:
                who = None
            elif case.role == 0:
                who = agent_names[int(agent[i])]
            else:
                who = sub_names[int(tr.role_sub[d, case.role])]
            cases.append((int(i), case.mode, case.entry, who))
        if claim_gap[i]:
            cases.append((int(i), "claimed_success_failed", None, None))
    logical = np.asarray([1 + (c[2] if c[2] is not None else 0) for c in cases], dtype=np.uint64)
    keys = run_key[np.asarray([c[0] for c in cases], dtype=np.int64)]
    span_ids = hex_ids(mix64(keys + mix64(logical))).to_pylist() if cases else []
    by_run: dict[int, list[dict[str, Any]]] = {int(i): [] for i in local}
    for (run, mode, entry, who), span_id in zip(cases, span_ids, strict=True):
        by_run[run].append(
            {
                "mode": mode,
                "detector": MODES[mode],
                "step": None if entry is None else entry + 1,
                "agent": who,
                "span_id": None if entry is None else span_id,
            }
        )
    details = []
    for i in local:
        s = tr.scripts[int(script[i])]
        details.append(
            json.dumps(
                {"scenario": s.scenario, "domain": s.domain, "cases": by_run[int(i)]},
                sort_keys=True,
            )
        )
    n = len(local)
    return pa.table(
        {
            "project": pa.array([project] * n, pa.string()),
            "kind": pa.array([TRUTH_KIND] * n, pa.string()),
            "subject": run_ids.take(pa.array(local, pa.int64())),
            "detail": pa.array(details, pa.string()),
        }
    )
