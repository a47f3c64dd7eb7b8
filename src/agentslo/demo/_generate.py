"""Vectorised generation of runs, spans and outcomes, in blocks of fixed size.

Runs are generated in blocks of ``BLOCK_RUNS`` consecutive runs, each block from
its own random streams (``SeedSequence(seed, spawn_key=(1, block))``), and chunks
are cut from blocks. A run's data therefore depends only on the seed, the fleet's
size and the run's index — not on ``chunk_runs`` — and a chunk can be generated
without generating what comes before it.

Within a block everything is numpy over arrays at four levels: runs, turns (one
LLM call each), tool calls, and span leaves (LLM calls, tool calls, hand-offs in
time order). Per-run randomness that the runs table depends on (tool errors, for
instance) is drawn at its own level even when spans are not wanted, from streams
separate from the span timings, so ``spans=False`` leaves runs and outcomes as
they are.

Transcript runs (``FleetConfig.transcripts``) are picked from a fifth stream; their
counts, status and outcome chances come from their script, their spans from
:func:`_script_spans` instead of the turn structure, and their texts from the
plan's compiled scripts (see :mod:`agentslo.demo._transcripts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from agentslo.demo._ids import hex_ids, mix64
from agentslo.demo._plan import (
    BURNER_CONTEXT,
    BURNER_SHARE,
    BURNER_STEPS,
    INCIDENT_ERROR_RATE,
    INCIDENT_RETRY,
    MAX_VERSIONS,
    Plan,
)
from agentslo.demo._transcripts import pick_scripts, truth_rows
from agentslo.model import (
    OUTCOME_LABELS,
    OUTCOME_SOURCES,
    OUTCOMES_SCHEMA,
    RUNS_SCHEMA,
    SPAN_KINDS,
    SPANS_SCHEMA,
    STATUSES,
)

__all__ = ["BLOCK_RUNS", "generate_chunks", "generate_with_truth"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
Columns = dict[str, npt.NDArray[Any]]

#: Runs per random block. Chunks are cut from blocks, so this is invisible in the data.
BLOCK_RUNS: Final = 10_000
MAX_STEPS: Final = 200
MAX_EXTRA_HANDOFFS: Final = 8
_LEAF_BASE: Final = 64  # logical span numbers: root 0, sub-agents 1.., leaves 64..
TOOL_TIMEOUT_S: Final = 10.0  # a tool call that times out waits this long

_OK, _ERROR, _TIMEOUT, _CANCELLED = (
    STATUSES.index(s) for s in ("ok", "error", "timeout", "cancelled")
)
_SUCCESS, _FAILURE, _PARTIAL = (OUTCOME_LABELS.index(s) for s in ("success", "failure", "partial"))
_VERIFIED, _HUMAN, _JUDGE, _CLAIMED = (
    OUTCOME_SOURCES.index(s) for s in ("verified", "human", "judge", "claimed")
)
_AGENT, _LLM, _TOOL, _HANDOFF = (SPAN_KINDS.index(s) for s in ("agent", "llm", "tool", "handoff"))
_KIND_NAMES: Final = pa.array(list(SPAN_KINDS))
_STATUS_NAMES: Final = pa.array(list(STATUSES))
_LABEL_NAMES: Final = pa.array(list(OUTCOME_LABELS))
_SOURCE_NAMES: Final = pa.array(list(OUTCOME_SOURCES))


@dataclass(frozen=True)
class _Block:
    """Generated columns of one block; spans and outcomes are sorted by ``run``."""

    runs: Columns
    spans: Columns
    outcomes: Columns


def _offsets(counts: I64) -> I64:
    """Start index of each group in an array laid out as ``np.repeat(groups, counts)``."""
    return np.asarray(np.cumsum(counts) - counts, dtype=np.int64)


def _pick(cum: F64, u: F64) -> I64:
    """Row-wise categorical draw: the first column whose cumulative share exceeds ``u``."""
    picked = (cum < u[:, None]).sum(axis=1)
    return np.asarray(np.minimum(picked, cum.shape[1] - 1), dtype=np.int64)


def _split(total: I64, weights: F64, group: I64, n: int) -> I64:
    """Split each group's integer ``total`` over its rows in proportion to ``weights``.

    Rows are sorted by ``group``; the parts are non-negative and sum exactly to the
    total (cumulative floor, the last row takes the remainder).
    """
    counts = np.bincount(group, minlength=n)
    first = _offsets(counts)
    cw = np.cumsum(weights)
    before = np.concatenate([[0.0], cw])[first]
    within = cw - before[group]
    sums = np.bincount(group, weights=weights, minlength=n)
    tot = total[group]
    cum = np.minimum(np.floor(tot * within / sums[group]).astype(np.int64), tot)
    last = np.ones(len(group), dtype=bool)
    last[:-1] = group[1:] != group[:-1]
    cum[last] = tot[last]
    prev = np.concatenate([[0], cum[:-1]])
    prev[first[counts > 0]] = 0
    return np.asarray(cum - prev, dtype=np.int64)


def _block(plan: Plan, b: int) -> _Block:
    """Generate block ``b``: runs ``b * BLOCK_RUNS`` up to the next block or the end."""
    cfg = plan.config
    lo = b * BLOCK_RUNS
    n = min(lo + BLOCK_RUNS, cfg.runs) - lo
    streams = np.random.SeedSequence(cfg.seed, spawn_key=(1, b)).spawn(5)
    r_run, r_tool, r_span, r_out, r_text = (np.random.default_rng(s) for s in streams)
    run = np.arange(lo, lo + n, dtype=np.int64)

    # -- who, when, which version ------------------------------------------------------
    t = np.interp((run + r_run.random(n)) / cfg.runs, plan.cdf, plan.grid_s)
    agent = np.minimum(
        np.searchsorted(plan.agent_cum, r_run.random(n), side="right"), plan.n_agents - 1
    ).astype(np.int64)
    surge = (t >= plan.incident_start_s) & (r_run.random(n) < plan.incident_force)
    agent[surge] = plan.incident_agent
    ub = r_run.random(n)
    n_burners = len(plan.burner_agent)
    burner = np.where(ub < BURNER_SHARE * n_burners, (ub / BURNER_SHARE).astype(np.int64), -1)
    burner = np.minimum(burner, n_burners - 1)
    is_burner = burner >= 0
    agent[is_burner] = plan.burner_agent[burner[is_burner]]
    user = np.floor(plan.users * r_run.random(n) ** 3).astype(np.int64)
    user[is_burner] = plan.users + burner[is_burner]
    rollout = np.clip(
        (t[:, None] - plan.ver_start_s[agent, 1:]) / plan.ver_ramp_s[agent, 1:], 0.0, 1.0
    )
    version = (r_run.random(n)[:, None] < rollout).sum(axis=1).astype(np.int64)
    av = agent * MAX_VERSIONS + version
    model = plan.model[av]
    task = plan.task[agent, _pick(plan.task_cum[agent], r_run.random(n))]
    channel = np.minimum(
        np.searchsorted(plan.channel_cum, r_run.random(n), side="right"),
        len(plan.channel_cum) - 1,
    )

    # -- transcript runs follow a script (drawn from their own stream) ----------------------
    tr = plan.transcripts
    script = pick_scripts(tr, r_text, agent, cfg.transcripts, ~is_burner)
    scripted = script >= 0
    sc = np.maximum(script, 0)

    # -- shape of the run: complexity, hand-offs, steps, tokens ------------------------------
    z = r_run.standard_normal(n)  # task complexity: more steps, slower, fails more
    multi = r_run.random(n) < plan.multi[agent]
    extra = np.minimum(r_run.geometric(1.0 - plan.extra_handoff[agent]) - 1, MAX_EXTRA_HANDOFFS)
    handoffs = np.where(multi, plan.min_handoffs[agent] + extra, 0).astype(np.int64)
    lam = (plan.steps[agent] - 1.0) * np.exp(0.45 * z - 0.45**2 / 2)
    lam = lam * np.where(is_burner, BURNER_STEPS, 1.0)
    steps = np.clip(1 + r_run.poisson(lam), handoffs + 1, MAX_STEPS).astype(np.int64)
    handoffs = np.where(scripted, tr.n_handoff[sc], handoffs)
    steps = np.where(scripted, tr.n_llm[sc], steps)
    # context grows by 40% of a turn's context per earlier turn
    context = plan.context[agent] * plan.tokens[av] * np.where(is_burner, BURNER_CONTEXT, 1.0)
    growth = steps * (1.0 + 0.2 * (steps - 1))
    input_tokens = np.maximum(1, np.rint(context * growth * r_run.lognormal(0.0, 0.5, n)))
    output_tokens = np.maximum(
        1,
        np.rint(
            plan.output[agent]
            * plan.tokens[av]
            * plan.out_factor[model]
            * steps
            * r_run.lognormal(0.0, 0.6, n)
        ),
    )
    input_tokens = input_tokens.astype(np.int64)
    output_tokens = output_tokens.astype(np.int64)
    cost = input_tokens * plan.price_in[model] + output_tokens * plan.price_out[model]

    # -- tool calls (always drawn: the runs table counts their errors) ----------------------
    # transcript runs get a one-turn shell here; their spans come from the script
    turns, calls = _tool_calls(plan, r_tool, agent, t, np.where(scripted, 1, steps))
    calls = dataclasses.replace(
        calls,
        per_run=np.where(scripted, tr.n_tool[sc], calls.per_run),
        errors=np.where(scripted, tr.n_error[sc], calls.errors),
        incident_errors=np.where(scripted, 0, calls.incident_errors),
        timeouts=np.where(scripted, tr.n_timeout[sc], calls.timeouts),
    )

    # -- duration and status -------------------------------------------------------------------
    sigma = 0.5 + plan.sigma_extra[av]
    busy = steps * plan.turn_s[agent] * np.exp(sigma * r_run.standard_normal(n) + 0.2 * z)
    duration = (
        0.3 + busy * plan.latency[av] + 0.35 * calls.per_run + TOOL_TIMEOUT_S * calls.timeouts
    )
    over = duration > plan.timeout_s[agent]
    duration = np.where(over, plan.timeout_s[agent] + 0.5 * r_run.random(n), duration)
    crash_p = np.where(calls.incident_errors > 0, 0.7, np.where(calls.errors > 0, 0.2, 0.006))
    crash = r_run.random(n) < crash_p
    cancel = r_run.random(n) < 0.004
    status = np.full(n, _OK, dtype=np.int64)
    status[crash] = _ERROR
    status[over] = _TIMEOUT
    status[cancel] = _CANCELLED
    status = np.where(scripted, np.where(tr.root_error[sc] >= 0, _ERROR, _OK), status)
    end_us = plan.start_us + np.rint(t * 1e6).astype(np.int64)
    start_us = end_us - np.rint(duration * 1e6).astype(np.int64)

    # -- what really happened -------------------------------------------------------------
    p = (
        plan.base[agent]
        + plan.shift[av]
        - 0.07 * z
        - 0.25 * (calls.errors > 0)
        - 0.35 * (calls.incident_errors > 0)
        - 0.04 * np.maximum(handoffs - plan.min_handoffs[agent], 0)
    )
    clean = plan.base[agent] + plan.shift[av] - 0.07 * z  # a healthy script's chances
    p = np.where(scripted, np.where(np.isnan(tr.success[sc]), clean, tr.success[sc]), p)
    p = np.where(is_burner, 0.0, np.clip(p, 0.01, 0.99))
    truth = (status == _OK) & (r_run.random(n) < p)

    runs: Columns = {
        "run": run,
        "agent": agent,
        "version": version,
        "model": model,
        "user": user,
        "task": task,
        "channel": channel,
        "start_us": start_us,
        "end_us": end_us,
        "status": status,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": cost,
        "steps": steps,
        "tool_calls": calls.per_run,
        "tool_errors": calls.errors,
        "handoffs": handoffs,
        "script": script,
    }
    claims = np.where(scripted, tr.claims[sc], -1)
    outcomes, claim_gap = _outcomes(
        plan, r_out, run, agent, av, status, truth, is_burner, end_us, claims
    )
    runs["claim_gap"] = claim_gap & scripted
    spans: Columns = {}
    if cfg.spans:
        shape = _RunShape(
            run=run,
            agent=agent,
            model=model,
            steps=np.where(scripted, 1, steps),
            handoffs=np.where(scripted, 0, handoffs),
            start_us=start_us,
            end_us=end_us,
            status=status,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            script=script,
        )
        spans = _spans(plan, r_span, shape, turns, calls)
    return _Block(runs, spans, outcomes)


def _outcomes(
    plan: Plan,
    rng: np.random.Generator,
    run: I64,
    agent: I64,
    av: I64,
    status: I64,
    truth: B,
    is_burner: B,
    end_us: I64,
    claims: I64,
) -> tuple[Columns, B]:
    """Verdicts per run: the agent's claim, an environment check, a human, a judge;
    and which runs claim success while they failed (the claim gap, as generated).

    Verdicts that would be recorded after the window's end have not arrived yet.
    Token burners get no human or judge verdict and never a verified success.
    ``claims`` forces what a run claims (1 success, 0 failure, -1 as drawn).
    """
    n = len(run)
    bad = status != _OK
    claimed = rng.random(n) >= np.where(bad, 0.5, 0.015)
    uc = rng.random(n)
    claim_ok = np.where(
        is_burner, uc < 0.9, np.where(truth, uc < 0.97, ~bad & (uc < plan.false_claim[av]))
    )
    claimed |= claims >= 0
    claim_ok = np.where(claims >= 0, claims == 1, claim_ok)
    claim_at = np.minimum(end_us + (rng.random(n) * 2e6).astype(np.int64), plan.end_us)

    verified = rng.random(n) < np.where(is_burner, 0.35, plan.verified[agent])
    v_delay = plan.verify_delay_s[agent] * np.exp(rng.standard_normal(n))
    partial = ~truth & ~is_burner & (rng.random(n) < plan.partial[agent])
    v_label = np.where(truth, _SUCCESS, np.where(partial, _PARTIAL, _FAILURE))
    v_score = np.where(truth, 1.0, np.where(partial, np.round(rng.uniform(0.2, 0.9, n), 2), 0.0))
    v_at = end_us + np.rint(v_delay * 1e6).astype(np.int64)

    human = (rng.random(n) < plan.human[agent]) & ~is_burner
    h_ok = truth ^ (rng.random(n) < 0.05)
    h_at = end_us + np.rint(20 * 3600e6 * np.exp(0.6 * rng.standard_normal(n))).astype(np.int64)

    judge = (rng.random(n) < plan.judge[agent]) & ~is_burner
    uj = rng.random(n)
    j_ok = np.where(truth, uj < 0.92, uj < 0.30)  # judges are lenient
    uscore = rng.random(n)
    j_score = np.round(np.where(j_ok, 0.6 + 0.4 * uscore, 0.5 * uscore), 2)
    j_at = end_us + np.rint(90e6 * np.exp(0.5 * rng.standard_normal(n))).astype(np.int64)

    # one column per source, in OUTCOME_SOURCES order; rows are (run, source)
    def by_source(v: Any, h: Any, j: Any, c: Any) -> npt.NDArray[Any]:
        cols: list[Any] = [None] * 4
        cols[_VERIFIED], cols[_HUMAN], cols[_JUDGE], cols[_CLAIMED] = v, h, j, c
        return np.stack([np.broadcast_to(np.asarray(x), (n,)) for x in cols], axis=1)

    present = by_source(verified, human, judge, claimed)
    recorded = by_source(v_at, h_at, j_at, claim_at)
    present &= recorded <= plan.end_us
    label = by_source(
        v_label,
        np.where(h_ok, _SUCCESS, _FAILURE),
        np.where(j_ok, _SUCCESS, _FAILURE),
        np.where(claim_ok, _SUCCESS, _FAILURE),
    )
    score = by_source(v_score, np.nan, j_score, np.nan)
    evaluator = by_source(
        plan.check[agent], plan.human_evaluator, plan.judge_evaluator, plan.claim_evaluator
    )
    source = np.broadcast_to(np.arange(4), (n, 4))
    keep = present.reshape(-1)
    gap = claimed & claim_ok & ~truth & (claim_at <= plan.end_us)
    return {
        "run": np.repeat(run, 4)[keep],
        "source": source.reshape(-1)[keep],
        "label": label.reshape(-1)[keep].astype(np.int64),
        "score": score.reshape(-1)[keep].astype(np.float64),
        "evaluator": evaluator.reshape(-1)[keep].astype(np.int64),
        "recorded_us": recorded.reshape(-1)[keep].astype(np.int64),
    }, gap


@dataclass(frozen=True)
class _RunShape:
    """What the spans of a block must agree with, one entry per run."""

    run: I64
    agent: I64
    model: I64
    steps: I64
    handoffs: I64
    start_us: I64
    end_us: I64
    status: I64
    input_tokens: I64
    output_tokens: I64
    script: I64  # -1 for an ordinary run; a transcript run's shell is one turn


@dataclass(frozen=True)
class _Turns:
    """One row per LLM call (turn) of each run, in run order."""

    run: I64  # local run index
    j: I64  # turn number within the run
    last: B
    tools: I64  # tool calls the turn makes


@dataclass(frozen=True)
class _Calls:
    """One row per tool call, in turn order, and the counts per run."""

    tool: I64
    etype: I64  # error type, -1 when the call succeeded
    per_run: I64
    errors: I64
    incident_errors: I64
    timeouts: I64


def _tool_calls(
    plan: Plan, rng: np.random.Generator, agent: I64, t: F64, steps: I64
) -> tuple[_Turns, _Calls]:
    """Turns and tool calls: every turn but the last calls a tool, some call two.

    During the incident the agent retries the failing tool, and its calls fail at
    the incident rate with the incident's error types.
    """
    n = len(agent)
    turn_run = np.repeat(np.arange(n), steps)
    turn_j = np.arange(len(turn_run)) - np.repeat(_offsets(steps), steps)
    last_turn = turn_j == steps[turn_run] - 1
    per_turn = np.where(last_turn, 0, 1 + (rng.random(len(turn_run)) < 0.15)).astype(np.int64)
    call_run = turn_run[np.repeat(np.arange(len(turn_run)), per_turn)]
    k = len(call_run)
    call_agent = agent[call_run]
    slot = _pick(plan.tool_cum[call_agent], rng.random(k))
    tool = plan.tool[call_agent, slot]
    outage = (call_agent == plan.incident_agent) & (t[call_run] >= plan.incident_start_s)
    tool = np.where(outage & (rng.random(k) < INCIDENT_RETRY), plan.incident_tool, tool)
    incident = outage & (tool == plan.incident_tool)
    failed = rng.random(k) < np.where(
        incident, INCIDENT_ERROR_RATE, plan.tool_err[call_agent, slot]
    )
    ue = rng.random(k)
    etype = np.where(
        incident,
        np.searchsorted(plan.incident_error_cum, ue, side="right"),
        np.searchsorted(plan.error_cum, ue, side="right"),
    )
    etype = np.where(failed, etype, -1).astype(np.int64)

    def count(mask: B) -> I64:
        return np.bincount(call_run[mask], minlength=n).astype(np.int64)

    calls = _Calls(
        tool=tool,
        etype=etype,
        per_run=count(np.ones(k, dtype=bool)),
        errors=count(failed),
        incident_errors=count(failed & incident),
        timeouts=count(etype == plan.timeout_error),
    )
    return _Turns(turn_run, turn_j, last_turn, per_turn), calls


def _spans(
    plan: Plan, rng: np.random.Generator, r: _RunShape, turns: _Turns, calls: _Calls
) -> Columns:
    """Spans of a block: a root per run, a span per sub-agent, then the leaves.

    Leaves (LLM call, its tool calls, a hand-off when the turn ends a sub-agent's
    part) share the run's duration in proportion to drawn weights, in order; a
    sub-agent span covers its leaves; LLM spans split the run's tokens exactly.
    """
    n = len(r.run)
    segments = np.where(r.handoffs > 0, r.handoffs + 1, 1)
    g = segments[turns.run]
    s = r.steps[turns.run]
    seg = (turns.j * g) // s
    handoff_after = (r.handoffs[turns.run] > 0) & (((turns.j + 1) * g) // s != seg) & ~turns.last
    per_turn = 1 + turns.tools + handoff_after
    leaf_turn = np.repeat(np.arange(len(turns.run)), per_turn)
    pos = np.arange(len(leaf_turn)) - np.repeat(_offsets(per_turn), per_turn)
    kind = np.where(pos == 0, _LLM, np.where(pos <= turns.tools[leaf_turn], _TOOL, _HANDOFF))
    leaf_run = turns.run[leaf_turn]
    leaf_seg = seg[leaf_turn]
    nl = len(leaf_turn)
    is_llm, is_tool = kind == _LLM, kind == _TOOL
    multi_leaf = r.handoffs[leaf_run] > 0

    # tool columns on leaves (tool calls are laid out in the same order)
    tool = np.full(nl, -1, dtype=np.int64)
    tool[is_tool] = calls.tool
    etype = np.full(nl, -1, dtype=np.int64)
    etype[is_tool] = calls.etype

    # timing: each leaf takes its share of the run
    noise = rng.standard_normal(nl)
    weight = np.where(
        is_llm,
        plan.turn_s[r.agent[leaf_run]] * np.exp(0.4 * noise),
        np.where(
            is_tool,
            0.35 * np.exp(0.6 * noise) + TOOL_TIMEOUT_S * (etype == plan.timeout_error),
            0.02,
        ),
    )
    leaf_counts = np.bincount(leaf_run, minlength=n)
    first = _offsets(leaf_counts)
    cw = np.cumsum(weight)
    before = cw - weight - np.concatenate([[0.0], cw])[first][leaf_run]
    total = np.bincount(leaf_run, weights=weight, minlength=n)[leaf_run]
    dur = (r.end_us - r.start_us)[leaf_run]
    pad = np.minimum(50_000, dur // 100)
    usable = dur - 2 * pad
    origin = r.start_us[leaf_run] + pad
    leaf_start = origin + np.floor(usable * before / total).astype(np.int64)
    leaf_stop = origin + np.floor(usable * np.minimum((before + weight) / total, 1.0)).astype(
        np.int64
    )
    leaf_end = leaf_start + ((leaf_stop - leaf_start) * 0.97).astype(np.int64)

    # tokens and cost on LLM leaves
    llm_run = leaf_run[is_llm]
    llm_j = turns.j[leaf_turn[is_llm]]
    inp = np.full(nl, -1, dtype=np.int64)
    out = np.full(nl, -1, dtype=np.int64)
    inp[is_llm] = _split(r.input_tokens, 1.0 + 0.4 * llm_j, llm_run, n)
    out[is_llm] = _split(
        r.output_tokens, np.exp(0.5 * rng.standard_normal(len(llm_run))), llm_run, n
    )
    leaf_model = r.model[leaf_run]
    cost = np.where(
        is_llm, inp * plan.price_in[leaf_model] + out * plan.price_out[leaf_model], np.nan
    )

    # sub-agent spans: one per segment of each multi-agent run
    mi = np.flatnonzero(multi_leaf)
    change = np.ones(len(mi), dtype=bool)
    change[1:] = (leaf_run[mi][1:] != leaf_run[mi][:-1]) | (leaf_seg[mi][1:] != leaf_seg[mi][:-1])
    bounds = np.flatnonzero(change)
    seg_run = leaf_run[mi][bounds]
    seg_k = leaf_seg[mi][bounds]
    seg_start = np.minimum.reduceat(leaf_start[mi], bounds) if len(mi) else leaf_start[:0]
    seg_end = np.maximum.reduceat(leaf_end[mi], bounds) if len(mi) else leaf_end[:0]
    seg_sub = plan.sub[r.agent[seg_run], _sub_slot(seg_k)]
    n_sub = len(plan.sub_names)
    n_agents = plan.n_agents
    names = plan.span_name_base

    leaf_sub = plan.sub[r.agent[leaf_run], _sub_slot(leaf_seg)]
    next_sub = plan.sub[r.agent[leaf_run], _sub_slot(leaf_seg + 1)]
    leaf_name = np.where(
        is_llm,
        names.llm + leaf_model,
        np.where(is_tool, names.tool + tool, names.handoff + leaf_sub * n_sub + next_sub),
    )
    leaf_status = np.where(etype >= 0, _ERROR, _OK)
    leaf_index = np.arange(nl) - first[leaf_run]

    root_error = np.select(
        [
            (r.status == _ERROR) & (calls.errors > 0),
            r.status == _ERROR,
            r.status == _TIMEOUT,
            r.status == _CANCELLED,
        ],
        [plan.root_error[i] for i in range(4)],
        -1,
    )
    tr = plan.transcripts
    scripted = r.script >= 0
    sc = np.maximum(r.script, 0)
    root_error = np.where(scripted & (tr.root_error[sc] >= 0), tr.root_error[sc], root_error)
    local = np.arange(n)
    n_seg = len(seg_run)
    parts: list[Columns] = [
        {  # roots
            "run": local,
            "logical": np.zeros(n, dtype=np.int64),
            "parent": np.full(n, -1, dtype=np.int64),
            "kind": np.full(n, _AGENT),
            "name": names.root + r.agent,
            "agent": r.agent,
            "tool": np.full(n, -1),
            "model": r.model,
            "start_us": r.start_us,
            "end_us": r.end_us,
            "status": r.status,
            "error_type": root_error,
            "input_tokens": np.full(n, -1),
            "output_tokens": np.full(n, -1),
            "cost_usd": np.full(n, np.nan),
            "input": np.where(scripted, tr.instruction[sc], -1),
            "output": np.where(scripted, tr.root_output[sc], -1),
            "attrs": np.full(n, -1),
        },
        {  # sub-agents
            "run": seg_run,
            "logical": 1 + seg_k,
            "parent": np.zeros(n_seg, dtype=np.int64),
            "kind": np.full(n_seg, _AGENT),
            "name": names.sub + seg_sub,
            "agent": n_agents + seg_sub,
            "tool": np.full(n_seg, -1),
            "model": r.model[seg_run],
            "start_us": seg_start,
            "end_us": seg_end,
            "status": np.full(n_seg, _OK),
            "error_type": np.full(n_seg, -1),
            "input_tokens": np.full(n_seg, -1),
            "output_tokens": np.full(n_seg, -1),
            "cost_usd": np.full(n_seg, np.nan),
            "input": np.full(n_seg, -1),
            "output": np.full(n_seg, -1),
            "attrs": np.full(n_seg, -1),
        },
        {  # leaves
            "run": leaf_run,
            "logical": _LEAF_BASE + leaf_index,
            "parent": np.where(multi_leaf, 1 + leaf_seg, 0),
            "kind": kind,
            "name": leaf_name,
            "agent": np.where(multi_leaf, n_agents + leaf_sub, r.agent[leaf_run]),
            "tool": tool,
            "model": np.where(is_llm, leaf_model, -1),
            "start_us": leaf_start,
            "end_us": leaf_end,
            "status": leaf_status,
            "error_type": etype,
            "input_tokens": inp,
            "output_tokens": out,
            "cost_usd": cost,
            "input": np.full(nl, -1),
            "output": np.full(nl, -1),
            "attrs": np.full(nl, -1),
        },
    ]
    if scripted.any():  # a transcript run's shell leaf gives way to its script's spans
        keep = ~scripted[leaf_run]
        parts[2] = {k: np.asarray(v)[keep] for k, v in parts[2].items()}
        parts.append(_script_spans(plan, r))
    merged = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
    order = np.argsort(merged["run"], kind="stable")
    cols = {k: v[order] for k, v in merged.items()}
    cols["run"] = r.run[cols["run"]]
    return cols


def _script_spans(plan: Plan, r: _RunShape) -> Columns:
    """The spans of the transcript runs of a block, from their scripts.

    Each entry of a run's script becomes one span: its times are the script's
    fractions of the run, its agent the run's own or a sub-agent of the run's
    domain, its texts and attributes the script's, and the run's tokens are split
    over its LLM calls (later calls carry more context).
    """
    tr = plan.transcripts
    n = len(r.run)
    rows = np.flatnonzero(r.script >= 0)
    sc = r.script[rows]
    length = tr.length[sc]
    e_run = np.repeat(rows, length)
    pos = np.arange(len(e_run)) - np.repeat(_offsets(length), length)
    e = np.repeat(tr.offset[sc], length) + pos
    kind, role, tool, etype = tr.kind[e], tr.role[e], tr.tool[e], tr.etype[e]
    dur = (r.end_us - r.start_us)[e_run]
    pad = np.minimum(50_000, dur // 100)
    usable = dur - 2 * pad
    origin = r.start_us[e_run] + pad
    start = origin + np.floor(usable * tr.t0[e]).astype(np.int64)
    end = origin + np.floor(usable * tr.t1[e]).astype(np.int64)
    domain = tr.agent_domain[r.agent[e_run]]
    sub = tr.role_sub[domain, role]
    to_sub = tr.role_sub[domain, np.maximum(tr.to_role[e], 0)]
    names = plan.span_name_base
    n_sub = len(plan.sub_names)
    model = r.model[e_run]
    is_llm = kind == _LLM
    name = np.select(
        [kind == _AGENT, is_llm, kind == _TOOL],
        [names.sub + sub, names.llm + model, names.tool + tool],
        names.handoff + sub * n_sub + to_sub,
    )
    inp = np.full(len(e), -1, dtype=np.int64)
    out = np.full(len(e), -1, dtype=np.int64)
    llm_run = e_run[is_llm]
    weights = 1.0 + 0.4 * tr.llm_j[e][is_llm]
    inp[is_llm] = _split(r.input_tokens, weights, llm_run, n)
    out[is_llm] = _split(r.output_tokens, np.ones(len(llm_run)), llm_run, n)
    cost = np.where(is_llm, inp * plan.price_in[model] + out * plan.price_out[model], np.nan)
    parent = tr.parent[e]
    return {
        "run": e_run,
        "logical": 1 + pos,
        "parent": np.where(parent < 0, 0, 1 + parent),
        "kind": kind,
        "name": name,
        "agent": np.where(role == 0, r.agent[e_run], plan.n_agents + sub),
        "tool": tool,
        "model": np.where(is_llm, model, -1),
        "start_us": start,
        "end_us": end,
        "status": np.where(etype >= 0, _ERROR, _OK),
        "error_type": etype,
        "input_tokens": inp,
        "output_tokens": out,
        "cost_usd": cost,
        "input": tr.input[e],
        "output": tr.output[e],
        "attrs": tr.attrs[e],
    }


def _sub_slot(k: I64) -> I64:
    """Which of an agent's three sub-agents runs segment ``k``: 0, 1, 2, then 1, 2, 1, …"""
    return np.asarray(np.where(k < 3, k, 1 + (k - 1) % 2), dtype=np.int64)


def _slice(cols: Columns, lo: int, hi: int) -> Columns:
    """Rows of ``cols`` (sorted by global ``run``) whose run lies in [lo, hi)."""
    if not cols:
        return cols
    a, b = np.searchsorted(cols["run"], [lo, hi])
    return {k: v[a:b] for k, v in cols.items()}


def _concat(parts: list[Columns]) -> Columns:
    if not parts or not parts[0]:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _chunks(plan: Plan) -> Iterator[tuple[Columns, Columns, Columns]]:
    cfg = plan.config
    for lo in range(0, cfg.runs, cfg.chunk_runs):
        hi = min(lo + cfg.chunk_runs, cfg.runs)
        blocks = [_block(plan, b) for b in range(lo // BLOCK_RUNS, (hi - 1) // BLOCK_RUNS + 1)]
        runs = _concat([_slice(x.runs, lo, hi) for x in blocks])
        spans = _concat([_slice(x.spans, lo, hi) for x in blocks])
        outcomes = _concat([_slice(x.outcomes, lo, hi) for x in blocks])
        yield runs, spans, outcomes


def generate_chunks(plan: Plan) -> Iterator[dict[str, pa.Table]]:
    """Batches of ``plan.config.chunk_runs`` runs (the last may be smaller)."""
    for runs, spans, outcomes in _chunks(plan):
        yield _tables(plan, runs, spans, outcomes)


def generate_with_truth(plan: Plan) -> Iterator[tuple[dict[str, pa.Table], pa.Table]]:
    """Batches as :func:`generate_chunks`, each with the ground-truth rows of its
    transcript runs (table ``ground_truth``'s columns; empty without spans)."""
    for runs, spans, outcomes in _chunks(plan):
        tables = _tables(plan, runs, spans, outcomes)
        yield tables, _truth_table(plan, runs, tables["runs"]["run_id"], has_spans=bool(spans))


# -- numpy columns to Arrow tables ------------------------------------------------------------


def _take(vocab: pa.Array, index: npt.NDArray[Any]) -> pa.Array:
    """Strings of ``vocab`` at ``index``; negative indices become nulls."""
    idx = np.asarray(index, dtype=np.int64)
    return vocab.take(pa.array(idx, mask=idx < 0))


def _ints(values: npt.NDArray[Any]) -> pa.Array:
    arr = np.asarray(values, dtype=np.int64)
    return pa.array(arr, mask=arr < 0)


def _floats(values: npt.NDArray[Any]) -> pa.Array:
    arr = np.asarray(values, dtype=np.float64)
    return pa.array(arr, mask=np.isnan(arr))


def _times(us: npt.NDArray[Any]) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64).view("datetime64[us]"))


def _const(value: str, n: int) -> pa.Array:
    return pa.array([value]).take(pa.array(np.zeros(n, dtype=np.int64)))


def _tables(plan: Plan, runs: Columns, spans: Columns, outcomes: Columns) -> dict[str, pa.Table]:
    cfg = plan.config
    n = len(runs["run"])
    run_key = _run_keys(plan, runs["run"])
    run_ids = hex_ids(mix64(run_key ^ np.uint64(1)), mix64(run_key ^ np.uint64(2)))
    first = int(runs["run"][0]) if n else 0

    def local(run: npt.NDArray[Any]) -> pa.Array:
        return pa.array(np.asarray(run, dtype=np.int64) - first)

    agent = runs["agent"]
    run_table = pa.Table.from_arrays(
        [
            _const(cfg.project, n),
            run_ids,
            _take(plan.task_names, runs["task"]),
            _take(plan.agent_names, agent),
            _take(plan.version_names, runs["version"]),
            _take(plan.model_names, runs["model"]),
            _take(plan.user_names, runs["user"]),
            _take(plan.team_names, plan.team[agent]),
            _const("production", n),
            pa.nulls(n, pa.string()),
            pa.nulls(n, pa.int64()),
            _times(runs["start_us"]),
            _times(runs["end_us"]),
            _take(_STATUS_NAMES, runs["status"]),
            _ints(runs["input_tokens"]),
            _ints(runs["output_tokens"]),
            _ints(runs["input_tokens"] + runs["output_tokens"]),
            _floats(runs["cost_usd"]),
            _ints(runs["steps"]),
            _ints(runs["tool_calls"]),
            _ints(runs["tool_errors"]),
            _ints(runs["handoffs"]),
            _take(plan.channel_attrs, runs["channel"]),
        ],
        schema=RUNS_SCHEMA,
    )

    m = len(outcomes["run"])
    o_runs = run_ids.take(local(outcomes["run"]))
    o_source = _take(_SOURCE_NAMES, outcomes["source"])
    outcome_table = pa.Table.from_arrays(
        [
            _const(cfg.project, m),
            pc.binary_join_element_wise(o_runs, o_source, ":"),
            o_runs,
            _take(_LABEL_NAMES, outcomes["label"]),
            _floats(outcomes["score"]),
            o_source,
            _take(plan.evaluator_names, outcomes["evaluator"]),
            _times(outcomes["recorded_us"]),
            _take(plan.evidence, outcomes["evaluator"] * 3 + outcomes["label"]),
        ],
        schema=OUTCOMES_SCHEMA,
    )

    tr = plan.transcripts
    if not spans:
        return {"runs": run_table, "spans": SPANS_SCHEMA.empty_table(), "outcomes": outcome_table}
    k = len(spans["run"])
    s_local = local(spans["run"])
    s_key = run_key[np.asarray(s_local)]
    span_ids = hex_ids(mix64(s_key + mix64(np.asarray(spans["logical"], dtype=np.uint64))))
    parents = hex_ids(mix64(s_key + mix64(np.asarray(spans["parent"], dtype=np.uint64))))
    parents = pc.if_else(pa.array(spans["parent"] < 0), pa.scalar(None, pa.string()), parents)
    trace_ids = run_ids.take(s_local)
    span_table = pa.Table.from_arrays(
        [
            _const(cfg.project, k),
            trace_ids,
            span_ids,
            parents,
            trace_ids,
            _take(plan.span_names, spans["name"]),
            _take(_KIND_NAMES, spans["kind"]),
            _take(plan.span_agents, spans["agent"]),
            _take(plan.tool_names, spans["tool"]),
            _take(plan.model_names, spans["model"]),
            _times(spans["start_us"]),
            _times(spans["end_us"]),
            _take(_STATUS_NAMES, spans["status"]),
            _take(plan.error_names, spans["error_type"]),
            _ints(spans["input_tokens"]),
            _ints(spans["output_tokens"]),
            _floats(spans["cost_usd"]),
            _take(tr.texts, spans["input"]),
            _take(tr.texts, spans["output"]),
            _take(tr.attributes, spans["attrs"]),
            pa.nulls(k, pa.string()),
        ],
        schema=SPANS_SCHEMA,
    )
    return {"runs": run_table, "spans": span_table, "outcomes": outcome_table}


def _run_keys(plan: Plan, run: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """The per-run hash every id of a run is derived from."""
    seed_key = mix64(np.uint64(plan.config.seed))
    return mix64(np.asarray(run, dtype=np.uint64) + seed_key)


def _truth_table(plan: Plan, runs: Columns, run_ids: Any, *, has_spans: bool) -> pa.Table:
    """Ground-truth rows of a chunk's transcript runs (none when spans are left out)."""
    n = len(runs["run"])
    return truth_rows(
        plan.transcripts,
        plan.config.project,
        run_ids.combine_chunks() if isinstance(run_ids, pa.ChunkedArray) else run_ids,
        _run_keys(plan, runs["run"]),
        runs["script"] if has_spans else np.full(n, -1, dtype=np.int64),
        runs["claim_gap"],
        plan.agent_names.to_pylist(),
        plan.sub_names.to_pylist(),
        runs["agent"],
    )
