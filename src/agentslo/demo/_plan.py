"""The fleet's fixed parameters, drawn once from the seed: agents, versions, traffic.

A plan holds, as numpy arrays indexed by agent (``[a]``) or by agent version
(``[a * 3 + v]``), everything the per-run generator gathers from, so generating a
run is array indexing rather than Python per run. It also holds the traffic curve
(diurnal, weekly, growth, the incident's retry surge) as a cumulative distribution
over the window, and the string vocabularies the Arrow columns are taken from.
The ground truth is read off the plan, so it is known without generating any data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from agentslo.demo._catalog import (
    CHANNELS,
    ERROR_TYPES,
    GENERIC_CHECKS,
    GENERIC_TASKS,
    GENERIC_TEAMS,
    GENERIC_TOOLS,
    INCIDENT_ERROR_TYPES,
    MODELS,
    NAMED_AGENTS,
    SUB_AGENT_SETS,
    NamedAgent,
)
from agentslo.demo._config import FleetConfig
from agentslo.demo._scripts import MODES
from agentslo.demo._transcripts import (
    HEALTHY_SHARE,
    TRUTH_KIND,
    Transcripts,
    build_transcripts,
    extra_errors,
    extra_subs,
    extra_tools,
)
from agentslo.demo._truth import (
    ClaimGap,
    FailureModes,
    GroundTruth,
    Incident,
    RegressedVersion,
    Rollout,
    TokenBurner,
)
from agentslo.model import OUTCOME_LABELS

__all__ = ["MAX_VERSIONS", "Plan", "SpanNames", "build_plan", "fleet_ground_truth"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MAX_VERSIONS: Final = 3
MAX_TOOLS: Final = 6
MAX_TASKS: Final = 6

#: Human reviewers and LLM judges, and the agent's own report, as evaluator names.
HUMAN_EVALUATOR: Final = "qa-review"
JUDGE_EVALUATOR: Final = "llm-judge/gpt-4o-mini"
CLAIM_EVALUATOR: Final = "self-report"

# Story parameters (recorded in the ground truth where they are injected).
BURNER_SHARE: Final = 0.004  # of all runs, per burning account
BURNER_STEPS: Final = 3.5
BURNER_CONTEXT: Final = 2.0
BURNER_AGENTS: Final = ("coding-agent", "research-pipeline", "sql-analyst", "support-bot")
INCIDENT_MINUTES: Final = 30.0
INCIDENT_ERROR_RATE: Final = 0.85
INCIDENT_RETRY: Final = 0.6  # share of the agent's tool calls that retry the failing tool
INCIDENT_TRAFFIC: Final = 3.0  # the incident agent's traffic multiplies (retries)
INCIDENT_AGENT: Final = "billing-assistant"
INCIDENT_TOOL: Final = "payments_api"
REGRESSED_AGENT: Final = "support-bot"
REGRESSED_VERSION: Final = "v3"
CLAIM_GAP_THRESHOLD: Final = 0.35
#: error.type of a failed root span: crashed after a tool error, crashed, deadline.
ROOT_ERRORS: Final = ("tool_error", "exception", "deadline_exceeded", "cancelled")


@dataclass(frozen=True, eq=False)
class Plan:
    """Fleet-level parameters and vocabularies for one resolved config."""

    config: FleetConfig
    start_us: int  # window start, microseconds since the epoch (UTC)
    duration_s: float
    # traffic: inverse CDF of run end times over the window
    cdf: F64
    grid_s: F64
    agent_cum: F64
    incident_agent: int
    incident_tool: int  # index into tool_names
    incident_start_s: float
    incident_force: float  # P(a run in the window is reassigned to the incident agent)
    burner_agent: I64
    users: int  # ordinary users are 0..users-1; burner k is users + k
    # per agent
    team: I64
    steps: F64
    context: F64
    output: F64
    turn_s: F64
    timeout_s: F64
    base: F64
    tool: I64  # [a, MAX_TOOLS] -> tool_names
    tool_cum: F64  # [a, MAX_TOOLS]
    tool_err: F64  # [a, MAX_TOOLS]
    multi: F64
    min_handoffs: I64
    extra_handoff: F64
    sub: I64  # [a, 3] -> sub_names
    check: I64  # -> evaluator_names
    verified: F64
    verify_delay_s: F64
    human: F64
    judge: F64
    partial: F64
    task: I64  # [a, MAX_TASKS] -> task_names
    task_cum: F64
    versions: I64
    ver_start_s: F64  # [a, MAX_VERSIONS]; inf when absent
    ver_ramp_s: F64
    # per agent version (a * MAX_VERSIONS + v)
    model: I64  # -> model_names
    shift: F64
    false_claim: F64
    latency: F64
    sigma_extra: F64
    tokens: F64
    # per model
    price_in: F64
    price_out: F64
    out_factor: F64
    # vocabularies
    agent_names: pa.Array
    team_names: pa.Array
    model_names: pa.Array
    version_names: pa.Array
    tool_names: pa.Array
    sub_names: pa.Array
    task_names: pa.Array
    evaluator_names: pa.Array
    user_names: pa.Array
    channel_cum: F64
    channel_attrs: pa.Array
    error_cum: F64
    incident_error_cum: F64
    error_names: pa.Array  # ERROR_TYPES, incident-only ones, then ROOT_ERRORS
    span_names: pa.Array  # see SpanNames
    span_name_base: SpanNames
    span_agents: pa.Array  # agent names then sub-agent names
    evidence: pa.Array  # [evaluator * 3 + label]
    human_evaluator: int
    judge_evaluator: int
    claim_evaluator: int
    root_error: tuple[int, ...]  # error_names index of each of ROOT_ERRORS
    timeout_error: int  # error_names index of a tool call's "timeout"
    transcripts: Transcripts  # the scripts of runs that carry text

    @property
    def n_agents(self) -> int:
        return len(self.agent_names)

    @property
    def end_us(self) -> int:
        return self.start_us + round(self.duration_s * 1e6)

    def instant(self, offset_s: float) -> datetime:
        """The aware UTC datetime ``offset_s`` seconds after the window start."""
        us = self.start_us + round(offset_s * 1e6)
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


@dataclass(frozen=True)
class SpanNames:
    """Offsets of each span-name family in ``Plan.span_names``.

    Root spans are ``invoke_agent <agent>`` (offset ``root`` + agent), sub-agent
    spans ``invoke_agent <sub>``, LLM calls ``chat <model>``, tool calls
    ``execute_tool <tool>``, hand-offs ``handoff <from> -> <to>`` (``handoff`` +
    from * number of sub-agents + to).
    """

    root: int
    sub: int
    llm: int
    tool: int
    handoff: int


def _span_names(
    agents: list[str], subs: list[str], models: list[str], tools: list[str]
) -> tuple[pa.Array, SpanNames]:
    names = [f"invoke_agent {a}" for a in agents]
    base = SpanNames(
        root=0,
        sub=len(names),
        llm=len(names) + len(subs),
        tool=len(names) + len(subs) + len(models),
        handoff=len(names) + len(subs) + len(models) + len(tools),
    )
    names += [f"invoke_agent {s}" for s in subs]
    names += [f"chat {m}" for m in models]
    names += [f"execute_tool {t}" for t in tools]
    names += [f"handoff {a} -> {b}" for a in subs for b in subs]
    return pa.array(names), base


def _evidence(evaluators: list[str]) -> pa.Array:
    """Evidence JSON per (evaluator, label): what each kind of evaluator would record."""
    messages = {
        "success": "Done: the task is complete.",
        "failure": "I could not complete the task.",
        "partial": "I completed part of the task.",
    }
    out = []
    for ev in evaluators:
        for label in OUTCOME_LABELS:
            if ev == CLAIM_EVALUATOR:
                item: dict[str, str] = {"message": messages[label]}
            elif ev == HUMAN_EVALUATOR:
                item = {"reviewer": "qa-team", "verdict": label}
            elif ev == JUDGE_EVALUATOR:
                item = {"rubric": "task-completion", "verdict": label}
            else:
                item = {"check": ev, "result": label}
            out.append(json.dumps(item, separators=(",", ":"), sort_keys=True))
    return pa.array(out)


def _epoch_us(value: datetime) -> int:
    delta = value - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _traffic_cdf(start_us: int, duration_s: float) -> tuple[F64, F64]:
    """Grid (seconds into the window) and normalised CDF of the fleet's request rate.

    The rate is a daily sine peaking mid-afternoon UTC, halved at weekends, growing
    15% over the window as adoption grows; the incident surge is added separately.
    """
    steps = int(min(2_000_000, max(60, np.ceil(duration_s / 60.0))))
    grid = np.linspace(0.0, duration_s, steps + 1)
    absolute = start_us / 1e6 + grid
    hour = (absolute % 86_400) / 3_600
    weekday = ((absolute // 86_400).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    daily = 1.0 + 0.6 * np.sin(2 * np.pi * (hour - 8.0) / 24.0)
    weekly = np.where(weekday >= 5, 0.55, 1.0)
    growth = 1.0 + 0.15 * grid / duration_s
    rate = daily * weekly * growth
    cdf = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2.0)])
    return grid, cdf / cdf[-1]


def _with_surge(grid: F64, cdf: F64, start_s: float, extra: float) -> F64:
    """Add ``extra`` times the base rate between ``start_s`` and the window end."""
    base = np.diff(cdf)
    mids = (grid[1:] + grid[:-1]) / 2.0
    rate = np.where(mids >= start_s, base * (1.0 + extra), base)
    out = np.concatenate([[0.0], np.cumsum(rate)])
    return np.asarray(out / out[-1], dtype=np.float64)


def _cum(weights: F64) -> F64:
    """Row-wise cumulative shares, exactly 1.0 from the last positive weight on."""
    cum = np.cumsum(weights, axis=-1)
    cum = cum / cum[..., -1:]
    cum[cum > 1.0 - 1e-12] = 1.0
    return np.asarray(cum, dtype=np.float64)


def _index(names: list[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def build_plan(config: FleetConfig) -> Plan:
    """The plan of a config (``end`` is resolved first; plans are cached per config)."""
    return _build(config.resolved())


@lru_cache(maxsize=8)
def _build(config: FleetConfig) -> Plan:
    assert config.end is not None
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0,)))
    duration_s = config.days * 86_400.0
    end_us = _epoch_us(config.end)
    start_us = end_us - round(duration_s * 1e6)

    named = NAMED_AGENTS[: config.agents]
    n_gen = config.agents - len(named)
    n = config.agents
    width = max(4, len(str(n - 1)))
    agent_names = [a.name for a in named] + [f"agent-{i:0{width}d}" for i in range(len(named), n)]

    # vocabularies
    model_names = [m.name for m in MODELS]
    models = _index(model_names)
    tool_names = list(dict.fromkeys([t.name for a in named for t in a.tools]))
    tool_names += [t.name for t in GENERIC_TOOLS if t.name not in tool_names]
    tool_names += [t for t in extra_tools() if t not in tool_names]
    tools = _index(tool_names)
    sub_names = list(dict.fromkeys([s for a in named for s in a.sub_agents]))
    sub_names += [s for group in SUB_AGENT_SETS for s in group if s not in sub_names]
    sub_names += [s for s in extra_subs() if s not in sub_names]
    subs = _index(sub_names)
    team_names = list(dict.fromkeys([a.team for a in named])) + list(GENERIC_TEAMS)
    teams = _index(team_names)
    task_names = list(dict.fromkeys([t for a in named for t in a.tasks] + list(GENERIC_TASKS)))
    tasks = _index(task_names)
    evaluator_names = list(
        dict.fromkeys(
            [a.check for a in named]
            + list(GENERIC_CHECKS)
            + [HUMAN_EVALUATOR, JUDGE_EVALUATOR, CLAIM_EVALUATOR]
        )
    )
    evaluators = _index(evaluator_names)

    # per-agent arrays, named agents first
    def per_agent(values: list[float], generated: F64) -> F64:
        return np.concatenate([np.asarray(values, dtype=np.float64), generated])

    gen = _GeneratedAgents.draw(rng, n_gen, len(tool_names), len(GENERIC_TOOLS), tools)
    weights = np.asarray([a.weight for a in named], dtype=np.float64)
    weights = weights / weights.sum()
    if n_gen:
        named_share = 0.3 + 0.7 * 10.0 / (n_gen + 10.0)
        weights = np.concatenate([weights * named_share, gen.weight * (1.0 - named_share)])

    tool = np.zeros((n, MAX_TOOLS), dtype=np.int64)
    tool_w = np.zeros((n, MAX_TOOLS))
    tool_err = np.zeros((n, MAX_TOOLS))
    task = np.zeros((n, MAX_TASKS), dtype=np.int64)
    task_w = np.zeros((n, MAX_TASKS))
    sub = np.zeros((n, 3), dtype=np.int64)
    for i, a in enumerate(named):
        k = len(a.tools)
        tool[i, :k] = [tools[t.name] for t in a.tools]
        tool_w[i, :k] = [t.weight for t in a.tools]
        tool_err[i, :k] = [t.error_rate for t in a.tools]
        k = len(a.tasks)
        task[i, :k] = [tasks[t] for t in a.tasks]
        task_w[i, :k] = 1.0 / np.arange(1, k + 1)
        sub[i] = [subs[s] for s in a.sub_agents]
    m = len(named)
    tool[m:], tool_w[m:], tool_err[m:] = gen.tool, gen.tool_w, gen.tool_err
    generic_tasks = np.asarray([tasks[t] for t in GENERIC_TASKS], dtype=np.int64)
    task[m:] = generic_tasks[gen.task]
    task_w[m:] = 1.0 / np.arange(1, MAX_TASKS + 1)
    sub_sets = np.asarray([[subs[s] for s in group] for group in SUB_AGENT_SETS])
    sub[m:] = sub_sets[gen.sub_set]

    versions, ver_start, ver_ramp, av = _versions(config, named, gen, duration_s, models)

    users = int(min(500_000, max(50, config.runs // 25)))
    n_burners = 3
    burner_pool = [agent_names.index(b) for b in BURNER_AGENTS if b in agent_names] or [0]
    burner_agent = np.asarray(
        [burner_pool[k % len(burner_pool)] for k in range(n_burners)], dtype=np.int64
    )
    perm = rng.permutation(users + n_burners)
    uwidth = max(5, len(str(users + n_burners - 1)))
    user_names = pa.array([f"user-{int(p):0{uwidth}d}" for p in perm])

    incident_agent = (
        agent_names.index(INCIDENT_AGENT) if INCIDENT_AGENT in agent_names else len(named) - 1
    )
    incident_tool = (
        tools[INCIDENT_TOOL]
        if agent_names[incident_agent] == INCIDENT_AGENT
        else int(tool[incident_agent, 0])
    )
    incident_s = min(INCIDENT_MINUTES * 60.0, 0.05 * duration_s)
    incident_start = duration_s - incident_s
    w_inc = float(weights[incident_agent])
    surge = (INCIDENT_TRAFFIC - 1.0) * w_inc
    span_names, span_name_base = _span_names(agent_names, sub_names, model_names, tool_names)
    grid, cdf = _traffic_cdf(start_us, duration_s)
    cdf = _with_surge(grid, cdf, incident_start, surge)

    error_names = [e for e, _ in ERROR_TYPES]
    error_names += [e for e, _ in INCIDENT_ERROR_TYPES if e not in error_names]
    n_tool_errors = len(error_names)
    error_names += [e for e in ROOT_ERRORS if e not in error_names]
    error_names += [e for e in extra_errors() if e not in error_names]
    errors = _index(error_names)
    error_w = np.zeros(n_tool_errors)
    error_w[[errors[e] for e, _ in ERROR_TYPES]] = [w for _, w in ERROR_TYPES]
    incident_w = np.zeros(n_tool_errors)
    incident_w[[errors[e] for e, _ in INCIDENT_ERROR_TYPES]] = [w for _, w in INCIDENT_ERROR_TYPES]

    return Plan(
        config=config,
        start_us=start_us,
        duration_s=duration_s,
        cdf=cdf,
        grid_s=grid,
        agent_cum=_cum(weights),
        incident_agent=incident_agent,
        incident_tool=incident_tool,
        incident_start_s=incident_start,
        incident_force=surge / (1.0 + surge),
        burner_agent=burner_agent,
        users=users,
        team=np.asarray([teams[a.team] for a in named] + [teams[t] for t in gen.team]),
        steps=per_agent([a.steps for a in named], gen.steps),
        context=per_agent([a.context_tokens for a in named], gen.context),
        output=per_agent([a.output_tokens for a in named], gen.output),
        turn_s=per_agent([a.turn_seconds for a in named], gen.turn_s),
        timeout_s=per_agent([a.timeout_s for a in named], np.full(n_gen, 300.0)),
        base=per_agent([a.base_success for a in named], gen.base),
        tool=tool,
        tool_cum=_cum(tool_w),
        tool_err=tool_err,
        multi=per_agent([a.multi_agent for a in named], gen.multi),
        min_handoffs=np.asarray([a.min_handoffs for a in named] + [1] * n_gen, dtype=np.int64),
        extra_handoff=per_agent([a.extra_handoff for a in named], np.full(n_gen, 0.3)),
        sub=sub,
        check=np.asarray(
            [evaluators[a.check] for a in named]
            + [evaluators[GENERIC_CHECKS[c]] for c in gen.check],
            dtype=np.int64,
        ),
        verified=per_agent([a.verified for a in named], gen.verified),
        verify_delay_s=per_agent([a.verify_delay_s for a in named], gen.verify_delay_s),
        human=per_agent([a.human for a in named], np.full(n_gen, 0.01)),
        judge=per_agent([a.judge for a in named], gen.judge),
        partial=per_agent([a.partial for a in named], np.full(n_gen, 0.10)),
        task=task,
        task_cum=_cum(task_w),
        versions=versions,
        ver_start_s=ver_start,
        ver_ramp_s=ver_ramp,
        model=av.model,
        shift=av.shift,
        false_claim=av.false_claim,
        latency=av.latency,
        sigma_extra=av.sigma_extra,
        tokens=av.tokens,
        price_in=np.asarray([mo.input_per_mtok for mo in MODELS]) / 1e6,
        price_out=np.asarray([mo.output_per_mtok for mo in MODELS]) / 1e6,
        out_factor=np.asarray([mo.output_factor for mo in MODELS]),
        agent_names=pa.array(agent_names),
        team_names=pa.array(team_names),
        model_names=pa.array(model_names),
        version_names=pa.array([f"v{v + 1}" for v in range(MAX_VERSIONS)]),
        tool_names=pa.array(tool_names),
        sub_names=pa.array(sub_names),
        task_names=pa.array(task_names),
        evaluator_names=pa.array(evaluator_names),
        user_names=user_names,
        channel_cum=_cum(np.asarray([w for _, w in CHANNELS])),
        channel_attrs=pa.array([f'{{"channel":"{c}"}}' for c, _ in CHANNELS]),
        error_cum=_cum(error_w),
        incident_error_cum=_cum(incident_w),
        error_names=pa.array(error_names),
        span_names=span_names,
        span_name_base=span_name_base,
        span_agents=pa.array(agent_names + sub_names),
        evidence=_evidence(evaluator_names),
        human_evaluator=evaluators[HUMAN_EVALUATOR],
        judge_evaluator=evaluators[JUDGE_EVALUATOR],
        claim_evaluator=evaluators[CLAIM_EVALUATOR],
        root_error=tuple(errors[e] for e in ROOT_ERRORS),
        timeout_error=errors["timeout"],
        transcripts=build_transcripts(
            config.seed,
            agent_names,
            tools,
            errors,
            subs,
        ),
    )


@dataclass(frozen=True)
class _GeneratedAgents:
    """Random profiles for the agents beyond the named ones."""

    weight: F64
    team: list[str]
    steps: F64
    context: F64
    output: F64
    turn_s: F64
    base: F64
    false_claim: F64
    tool: I64
    tool_w: F64
    tool_err: F64
    task: I64
    multi: F64
    sub_set: I64
    check: I64
    verified: F64
    verify_delay_s: F64
    judge: F64
    versions: I64
    starts: F64  # [g, MAX_VERSIONS] fractions of the window (nan when absent)
    ramps_h: F64
    models: I64  # [g, MAX_VERSIONS]

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        g: int,
        n_tools: int,
        n_generic_tools: int,
        tools: dict[str, int],
    ) -> _GeneratedAgents:
        """Draw ``g`` profiles. Fleet success averages about 56%, as in public telemetry."""
        zipf = (rng.permutation(g) + 1.0) ** -1.0
        weight = np.asarray(zipf / max(float(zipf.sum()), 1e-300), dtype=np.float64)
        n_tool = rng.integers(3, MAX_TOOLS + 1, size=g)
        tool = np.zeros((g, MAX_TOOLS), dtype=np.int64)
        tool_w = np.zeros((g, MAX_TOOLS))
        tool_err = np.zeros((g, MAX_TOOLS))
        generic_index = np.asarray([tools[t.name] for t in GENERIC_TOOLS])
        generic_err = np.asarray([t.error_rate for t in GENERIC_TOOLS])
        for i in range(g):
            pick = rng.choice(n_generic_tools, size=n_tool[i], replace=False)
            tool[i, : n_tool[i]] = generic_index[pick]
            tool_w[i, : n_tool[i]] = rng.dirichlet(np.full(n_tool[i], 2.0))
            tool_err[i, : n_tool[i]] = generic_err[pick] * rng.lognormal(0.0, 0.4, n_tool[i])
        task = np.argsort(rng.random((g, len(GENERIC_TASKS))), axis=1)[:, :MAX_TASKS]
        versions = rng.choice([1, 2, 3], size=g, p=[0.3, 0.4, 0.3])
        starts = np.sort(rng.uniform(0.1, 0.9, size=(g, MAX_VERSIONS)), axis=1)
        starts[:, 0] = np.nan
        starts[np.arange(MAX_VERSIONS)[None, :] >= versions[:, None]] = np.nan
        models = rng.integers(0, len(MODELS), size=(g, MAX_VERSIONS))
        keep = rng.random((g, MAX_VERSIONS)) < 0.6  # most releases keep their model
        for v in range(1, MAX_VERSIONS):
            models[:, v] = np.where(keep[:, v], models[:, v - 1], models[:, v])
        is_multi = rng.random(g) < 0.12
        return cls(
            weight=weight,
            team=[GENERIC_TEAMS[i] for i in rng.integers(0, len(GENERIC_TEAMS), size=g)],
            steps=np.clip(rng.lognormal(np.log(3.6), 0.3, g), 1.5, 15.0),
            context=rng.lognormal(np.log(3000.0), 0.6, g),
            output=rng.lognormal(np.log(300.0), 0.5, g),
            turn_s=rng.lognormal(np.log(2.5), 0.5, g),
            base=np.clip(rng.beta(6.0, 4.0, g), 0.05, 0.97),
            false_claim=0.05 + 0.25 * rng.beta(2.0, 5.0, g),
            tool=tool,
            tool_w=tool_w,
            tool_err=tool_err,
            task=task,
            multi=np.where(is_multi, 1.0, 0.0),
            sub_set=rng.integers(0, len(SUB_AGENT_SETS), size=g),
            check=rng.integers(0, len(GENERIC_CHECKS), size=g),
            # one agent in ten has no environment check at all: claimed outcomes only
            verified=np.where(rng.random(g) < 0.1, 0.0, rng.beta(6.0, 2.0, g)),
            verify_delay_s=rng.lognormal(np.log(600.0), 1.0, g),
            judge=np.where(rng.random(g) < 0.3, rng.uniform(0.1, 0.6, g), 0.0),
            versions=versions,
            starts=starts,
            ramps_h=rng.uniform(2.0, 24.0, size=(g, MAX_VERSIONS)),
            models=models,
        )


@dataclass(frozen=True)
class _AgentVersions:
    model: I64
    shift: F64
    false_claim: F64
    latency: F64
    sigma_extra: F64
    tokens: F64


def _versions(
    config: FleetConfig,
    named: tuple[NamedAgent, ...],
    gen: _GeneratedAgents,
    duration_s: float,
    models: dict[str, int],
) -> tuple[I64, F64, F64, _AgentVersions]:
    """Release schedule per agent and parameters per agent version.

    A missing version starts at +inf; a later version never starts before the
    previous one has finished ramping, so at any time a run is on version k with a
    probability that the nested rollout shares determine.
    """
    n = config.agents
    k = n * MAX_VERSIONS
    versions = np.ones(n, dtype=np.int64)
    start = np.full((n, MAX_VERSIONS), np.inf)
    ramp = np.ones((n, MAX_VERSIONS))
    model = np.zeros(k, dtype=np.int64)
    shift = np.zeros(k)
    false_claim = np.zeros(k)
    latency = np.ones(k)
    sigma_extra = np.zeros(k)
    tokens = np.ones(k)
    max_ramp = 0.05 * duration_s
    for i, a in enumerate(named):
        versions[i] = len(a.versions)
        for v, ver in enumerate(a.versions):
            j = i * MAX_VERSIONS + v
            model[j] = models[ver.model]
            shift[j] = ver.success_shift
            false_claim[j] = ver.false_claim
            latency[j] = ver.latency_factor
            sigma_extra[j] = ver.latency_sigma_extra
            tokens[j] = ver.token_factor
            if ver.start is not None:
                start[i, v] = ver.start * duration_s
                ramp[i, v] = min(ver.ramp_hours * 3600.0, max_ramp)
        for v in range(len(a.versions), MAX_VERSIONS):  # unused slots mirror the last
            model[i * MAX_VERSIONS + v] = model[i * MAX_VERSIONS + len(a.versions) - 1]
    m = len(named)
    if n > m:
        versions[m:] = gen.versions
        ramps = np.minimum(gen.ramps_h * 3600.0, max_ramp)
        starts = np.where(np.isnan(gen.starts), np.inf, gen.starts * duration_s)
        for v in range(2, MAX_VERSIONS):  # never overlap the previous ramp
            starts[:, v] = np.maximum(starts[:, v], starts[:, v - 1] + ramps[:, v - 1])
        start[m:] = starts
        ramp[m:] = ramps
        rows = np.arange(m, n)[:, None] * MAX_VERSIONS + np.arange(MAX_VERSIONS)[None, :]
        model[rows] = gen.models
        false_claim[rows] = gen.false_claim[:, None]
    return (
        versions,
        start,
        ramp,
        _AgentVersions(model, shift, false_claim, latency, sigma_extra, tokens),
    )


def fleet_ground_truth(plan: Plan) -> GroundTruth:
    """What ``plan`` injects, in named, typed records."""
    config = plan.config
    names = plan.agent_names.to_pylist()
    models = plan.model_names.to_pylist()
    named = {a.name: a for a in NAMED_AGENTS[: config.agents]}

    def release(agent: str, v: int) -> Rollout:
        a = names.index(agent)
        j = a * MAX_VERSIONS + v
        start_s = float(plan.ver_start_s[a, v])
        return Rollout(
            agent=agent,
            version=f"v{v + 1}",
            previous_version=f"v{v}",
            model=models[plan.model[j]],
            previous_model=models[plan.model[j - 1]],
            started_at=plan.instant(start_s),
            full_rollout_at=plan.instant(start_s + float(plan.ver_ramp_s[a, v])),
            success_delta=round(float(plan.shift[j] - plan.shift[j - 1]), 6),
        )

    rollouts = tuple(
        release(name, v) for name, a in named.items() for v in range(1, len(a.versions))
    )
    v3 = int(REGRESSED_VERSION[1:]) - 1
    bad = release(REGRESSED_AGENT, v3)
    j = names.index(REGRESSED_AGENT) * MAX_VERSIONS + v3
    latency, sigma = float(plan.latency[j]), float(plan.sigma_extra[j])
    regressed = RegressedVersion(
        agent=REGRESSED_AGENT,
        version=bad.version,
        baseline_version=bad.previous_version,
        started_at=bad.started_at,
        full_rollout_at=bad.full_rollout_at,
        success_delta=bad.success_delta,
        latency_factor=latency,
        latency_p95_factor=round(latency * float(np.exp(1.645 * sigma)), 3),
    )
    burners = tuple(
        TokenBurner(
            user=str(plan.user_names[plan.users + k]),
            agent=names[int(a)],
            share_of_runs=BURNER_SHARE,
            steps_factor=BURNER_STEPS,
            context_factor=BURNER_CONTEXT,
        )
        for k, a in enumerate(plan.burner_agent)
    )
    incident = Incident(
        agent=names[plan.incident_agent],
        tool=str(plan.tool_names[plan.incident_tool]),
        started_at=plan.instant(plan.incident_start_s),
        ended_at=plan.instant(plan.duration_s),
        tool_error_rate=INCIDENT_ERROR_RATE,
        error_types=tuple(e for e, _ in INCIDENT_ERROR_TYPES),
        traffic_factor=INCIDENT_TRAFFIC,
        retry_share=INCIDENT_RETRY,
    )
    gaps = tuple(
        ClaimGap(agent=name, version=ver.name, false_claim_rate=ver.false_claim)
        for name, a in named.items()
        for ver in a.versions
        if ver.false_claim >= CLAIM_GAP_THRESHOLD
    )
    start, end = config.window
    return GroundTruth(
        project=config.project,
        seed=config.seed,
        runs=config.runs,
        agents=config.agents,
        window_start=start.replace(tzinfo=UTC),
        window_end=end.replace(tzinfo=UTC),
        regressed_version=regressed,
        token_burners=burners,
        incident=incident,
        claim_gaps=gaps,
        rollouts=rollouts,
        failure_modes=FailureModes(
            transcript_share=config.transcripts,
            healthy_share=HEALTHY_SHARE,
            scenarios=plan.transcripts.scenarios,
            modes=tuple(MODES.items()),
            truth_kind=TRUTH_KIND,
        ),
        claim_gap_threshold=CLAIM_GAP_THRESHOLD,
    )
