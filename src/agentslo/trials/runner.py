"""The trials runner: k trials per task and fault profile, isolated, verified, recorded.

For each trial the runner builds the task's environment in this (the harness)
process, hands the instruction and the tool schemas to an agent process from the
pool, serves the agent's tool calls through the fault injector, enforces the
trial's timeout and budgets, and, after the agent finishes or is stopped, runs
the verifier on the environment's final state. The result is a ``Run`` with its
spans and a ``verified`` outcome, ready for the store; a trial whose agent
crashed, hung, flooded output or broke the protocol is a failure with its reason,
never an exception out of the runner.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from agentslo.agents.client import Handoff
from agentslo.agents.protocol import ProtocolError
from agentslo.model import Outcome, Run, Span, Status
from agentslo.trials.env import ToolReply
from agentslo.trials.faults import FaultProfile, Injection, Injector
from agentslo.trials.pool import DEFAULT_PASS_ENV, Worker, WorkerPool, check_pass_env
from agentslo.trials.task import Check, Episode, Task, Verdict

__all__ = [
    "Budget",
    "TrialResult",
    "TrialRunner",
    "TrialSpec",
    "plan_trials",
    "run_trials",
    "world_seed",
]

_TEXT_CAP: Final = 2000
_ABORT_GRACE_S: Final = 2.0


@dataclass(frozen=True)
class Budget:
    """Per-trial limits: wall time, steps (tool + model calls), tokens, cost, output."""

    timeout_s: float = 120.0
    max_steps: int = 200
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_output_bytes: int = 1 << 20


@dataclass(frozen=True)
class TrialSpec:
    """One trial to run: a task, under a fault profile, with its index among k."""

    task: Task
    profile: FaultProfile
    trial: int
    seed: int


def plan_trials(
    tasks: Sequence[Task], profiles: Sequence[FaultProfile], k: int, seed: int
) -> list[TrialSpec]:
    """Every (task, profile, trial) combination, trial-major so progress is balanced."""
    if k < 1:
        raise ValueError(f"--k must be at least 1, got {k}")
    return [
        TrialSpec(task, profile, trial, seed)
        for trial in range(k)
        for profile in profiles
        for task in tasks
    ]


@dataclass
class TrialResult:
    """What one trial produced: the records to store and the headline facts."""

    spec: TrialSpec
    run: Run
    spans: list[Span]
    outcome: Outcome
    passed: bool
    reason: str | None
    steps: int
    duration_s: float

    def records(self) -> list[Any]:
        return [self.run, *self.spans, self.outcome]


@dataclass
class _State:
    """Mutable bookkeeping of one trial while it runs."""

    run_id: str
    trace_id: str
    started: datetime
    t0: float
    spans: list[Span] = field(default_factory=list)
    open_handoffs: list[tuple[str, str, float, dict[str, Any]]] = field(default_factory=list)
    tool_calls: int = 0
    tool_errors: int = 0
    llm_calls: int = 0
    handoffs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    answer: str | None = None
    status: Status = "ok"
    reason: str | None = None
    error_text: str | None = None
    reuse_worker: bool = True
    output_bytes: int = 0
    output_head: str = ""
    confinement: dict[str, Any] = field(default_factory=dict)
    #: A fresh random token per trial: every message must carry it, so an agent
    #: cannot queue messages for a later trial it has not seen yet.
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def steps(self) -> int:
        return self.tool_calls + self.llm_calls

    def at(self, t: float) -> datetime:
        return self.started + timedelta(seconds=t - self.t0)

    def parent(self) -> str:
        return self.open_handoffs[-1][0] if self.open_handoffs else f"{self.run_id}-root"

    def fail(self, status: Status, reason: str, text: str | None = None) -> None:
        if self.reason is None:
            self.status, self.reason, self.error_text = status, reason, text


def _cap(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_TEXT_CAP]


def world_seed(seed: int, world_key: int) -> int:
    """The seed a task's world is built from: ``seed`` itself when the key is 0."""
    if world_key == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:{world_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def _seed_of(*parts: object) -> list[int]:
    return [zlib.crc32(str(p).encode()) for p in parts]


class TrialRunner:
    """Runs trial specs against one agent with a worker pool; see the module docstring."""

    def __init__(
        self,
        agent_ref: str,
        *,
        agent_name: str | None = None,
        version: str | None = None,
        model: str | None = None,
        options: dict[str, Any] | None = None,
        budget: Budget | None = None,
        concurrency: int = 4,
        pass_env: Sequence[str] = DEFAULT_PASS_ENV,
        sys_path: Sequence[str] | None = None,
        batch_id: str | None = None,
        world_key: int | None = None,
        hidden: Sequence[str] = (),
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"--concurrency must be at least 1, got {concurrency}")
        self.agent_ref = agent_ref
        self.agent_name = agent_name or agent_ref.rpartition(":")[2] or agent_ref
        self.version = version
        self.model = model
        self.options = dict(options or {})
        if model and "model" not in self.options:
            self.options["model"] = model
        self.budget = budget or Budget()
        self.concurrency = concurrency
        #: Environment variables copied to agent processes when set (see check_pass_env).
        self.pass_env = check_pass_env(pass_env)
        self.sys_path = sys_path
        self.batch_id = batch_id or uuid.uuid4().hex[:12]
        #: Mixed into every world seed and never sent to the agent, so an agent that
        #: imports the suite cannot rebuild its world from the (visible) seed.
        #: ``None`` draws a random key; 0 makes worlds depend on the seed alone.
        self.world_key = secrets.randbits(62) if world_key is None else world_key
        #: Files the agent processes may not read: pass the store (it holds earlier
        #: trials' verifier evidence, i.e. expected values, and the world key).
        self.hidden = tuple(hidden)
        self._counter = 0

    # -- public --------------------------------------------------------------------------
    def run(
        self,
        specs: Sequence[TrialSpec],
        on_result: Callable[[TrialResult], None] | None = None,
    ) -> list[TrialResult]:
        """Run every spec (``concurrency`` at a time); results in spec order."""
        return asyncio.run(self.run_async(specs, on_result))

    async def run_async(
        self,
        specs: Sequence[TrialSpec],
        on_result: Callable[[TrialResult], None] | None = None,
    ) -> list[TrialResult]:
        pool = WorkerPool(
            min(self.concurrency, max(len(specs), 1)),
            sys_path=self.sys_path,
            pass_env=self.pass_env,
            output_cap=self.budget.max_output_bytes,
            hidden=self.hidden,
        )
        results: list[TrialResult | None] = [None] * len(specs)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(specs)):
            queue.put_nowait(i)

        async def lane() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                result = await self._trial(pool, specs[i])
                results[i] = result
                if on_result is not None:
                    on_result(result)

        try:
            await asyncio.gather(*(lane() for _ in range(pool.size)))
        finally:
            await pool.close()
        return [r for r in results if r is not None]

    # -- one trial -------------------------------------------------------------------------
    async def _trial(self, pool: WorkerPool, spec: TrialSpec) -> TrialResult:
        self._counter += 1
        run_id = f"trial-{self.batch_id}-{self._counter:06d}"
        st = _State(run_id, run_id, datetime.now(UTC).replace(tzinfo=None), time.monotonic())
        episode: Episode | None = None
        try:
            episode = spec.task.episode(world_seed(spec.seed, self.world_key))
            injector = Injector(
                spec.profile, _seed_of(spec.seed, spec.task.id, spec.profile.name, spec.trial)
            )
            ambiguous = spec.profile.rate("ambiguous") > 0 and episode.vague_instruction
            instruction = episode.vague_instruction if ambiguous else episode.instruction
            episode.env.clarification = episode.clarification if ambiguous else None
            await self._converse(pool, spec, episode, injector, instruction or "", st)
        except Exception as exc:  # a harness-side failure must not end the run
            st.fail("error", "harness_error", repr(exc)[:_TEXT_CAP])
        return self._finish(spec, episode, st)

    async def _converse(
        self,
        pool: WorkerPool,
        spec: TrialSpec,
        episode: Episode,
        injector: Injector,
        instruction: str,
        st: _State,
    ) -> None:
        env = episode.env
        worker = await pool.acquire()
        deadline = time.monotonic() + self.budget.timeout_s
        st.t0 = time.monotonic()
        try:
            start: dict[str, Any] = {
                "t": "start",
                "k": st.token,
                "agent": self.agent_ref,
                "agent_name": self.agent_name,
                "task_id": spec.task.id,
                "instruction": instruction,
                "tools_key": type(env).__qualname__,
                "options": self.options,
            }
            if start["tools_key"] not in worker.known_tools:  # sent once per worker
                start["tools"] = env.specs()
                start["sys_path"] = worker.sys_path
                worker.known_tools.add(start["tools_key"])
            worker.send(start)
            st.confinement = worker.confinement
            await self._serve(worker, spec, episode, injector, st, deadline)
        finally:
            st.output_bytes = worker.output_bytes
            st.output_head = worker.output_text
            if worker.flooded:
                st.reason = None
                st.fail("error", "output_flood", f"more than {self.budget.max_output_bytes} bytes")
            await pool.release(worker, reuse=st.reuse_worker and st.reason != "output_flood")

    async def _serve(
        self,
        worker: Worker,
        spec: TrialSpec,
        episode: Episode,
        injector: Injector,
        st: _State,
        deadline: float,
    ) -> None:
        aborting_until: float | None = None
        while True:
            limit = (aborting_until or deadline) - time.monotonic()
            try:
                message = await worker.receive(limit)
            except TimeoutError:
                if aborting_until is None:
                    st.fail("timeout", "timeout", f"no result within {self.budget.timeout_s:g}s")
                worker.kill()
                st.reuse_worker = False
                return
            except ProtocolError as exc:
                st.fail("error", "protocol_error", str(exc))
                worker.kill()
                st.reuse_worker = False
                return
            if message is None:
                code = await _exit_code(worker)
                st.fail("error", "agent_died", f"agent process exited with code {code}")
                st.reuse_worker = False
                return
            kind = message["t"]
            if message.get("k") != st.token:
                # a message left over from (or sent ahead by) another trial's agent
                st.fail("error", "protocol_error", f"message {kind!r} is not from this trial")
                worker.kill()
                st.reuse_worker = False
                return
            if kind == "done":
                self._done(message, st, aborted=aborting_until is not None)
                return
            if aborting_until is not None:
                if kind in ("call", "handoff", "handoff_end"):
                    worker.send({"t": "abort", "reason": st.reason})
                continue
            if kind == "call":
                worker.send(self._call(message, episode, injector, st))
            elif kind == "llm":
                self._llm(message, st)
            elif kind == "handoff":
                worker.send(self._handoff(message, episode, st))
            elif kind == "handoff_end":
                self._handoff_end(message, st)
                worker.send({"t": "result", "id": message.get("id"), "ok": True})
            else:
                st.fail("error", "protocol_error", f"unknown message type {kind!r}")
                worker.kill()
                st.reuse_worker = False
                return
            over = self._over_budget(st)
            if over:
                st.fail("error", f"budget_exceeded:{over}", f"{over} budget spent")
                aborting_until = time.monotonic() + _ABORT_GRACE_S

    def _over_budget(self, st: _State) -> str | None:
        b = self.budget
        if st.steps > b.max_steps:
            return "steps"
        if b.max_tokens is not None and st.input_tokens + st.output_tokens > b.max_tokens:
            return "tokens"
        if b.max_cost_usd is not None and st.cost_usd > b.max_cost_usd:
            return "cost"
        return None

    def _done(self, message: dict[str, Any], st: _State, *, aborted: bool) -> None:
        st.answer = _cap(message.get("answer"))
        error_type = message.get("error_type")
        if error_type == "aborted" and aborted:
            return
        if error_type == "aborted":  # an abort the harness never sent: a forged message
            st.fail("error", "protocol_error", "the agent reported an abort nobody sent")
            st.reuse_worker = False
            return
        if error_type:
            st.fail("error", str(error_type), _cap(message.get("error")))
        threads = message.get("threads")
        if not isinstance(threads, int) or threads > 1:
            st.reuse_worker = False

    def _call(
        self, message: dict[str, Any], episode: Episode, injector: Injector, st: _State
    ) -> dict[str, Any]:
        env = episode.env
        t_start = time.monotonic()
        st.tool_calls += 1
        if st.tool_calls == injector.change_at and episode.change is not None:
            what = episode.change(env, injector.rng)
            st.events.append({"name": "mid-run-change", "call": st.tool_calls, "change": what})
            st.faults["mid-run-change"] = st.faults.get("mid-run-change", 0) + 1
        name = str(message.get("tool", ""))
        args = message.get("args")
        fault: str | None = None
        tool_def = env.tools().get(name)
        writes = bool(tool_def and tool_def.writes)
        stale = False
        if episode.executor_tools and name in episode.executor_tools and not st.open_handoffs:
            reply = ToolReply(
                False,
                error_type="forbidden",
                message=f"{name} changes state; only an executor inside a hand-off may call it",
            )
        else:
            injection = injector.before(name) if tool_def else None
            if injection is not None:
                fault = injection.kind
                reply = _injected(injection)
            else:
                stale = injector.stale(writes) and env.seq > 0
                reply = env.dispatch(name, args, stale=stale)
                if stale:
                    fault = "stale-reads"
                if reply.ok and injector.conflicting(writes):
                    perturbed = env.perturb("conflicting-sources", name, reply.result, injector.rng)
                    if perturbed is not reply.result:
                        fault = "conflicting-sources"
                        reply = ToolReply(True, result=perturbed)
                if reply.ok:
                    broken = injector.malformed(writes, reply.result)
                    if broken is not None:
                        fault = "malformed"
                        reply = ToolReply(True, result=broken)
        if fault:
            st.faults[fault] = st.faults.get(fault, 0) + 1
        if not reply.ok:
            st.tool_errors += 1
        meta = {"seq": env.seq, "as_of": env.seq - 1 if stale else env.seq}
        attributes: dict[str, Any] = {"writes": writes}
        if fault:
            attributes["fault"] = fault
        if reply.retryable or (reply.error_type in ("server_error", "timeout", "rate_limited")):
            attributes["retryable"] = True
        st.spans.append(
            Span(
                trace_id=st.trace_id,
                span_id=f"{st.run_id}-{len(st.spans) + 1}",
                parent_span_id=st.parent(),
                run_id=st.run_id,
                name=f"execute_tool {name}"[:512],
                kind="tool",
                agent=str(message.get("agent") or self.agent_name)[:512],
                tool=name[:512],
                started_at=st.at(t_start),
                ended_at=st.at(time.monotonic()),
                status="ok" if reply.ok else "error",
                error_type=reply.error_type,
                input_text=_cap(args),
                output_text=_cap(reply.result if reply.ok else reply.message),
                attributes=attributes,
            )
        )
        out: dict[str, Any] = {"t": "result", "id": message.get("id"), "ok": reply.ok, "meta": meta}
        if reply.ok:
            out["result"] = reply.result
        else:
            out["error"] = {
                "type": reply.error_type,
                "message": reply.message,
                "retryable": attributes.get("retryable", False),
                "retry_after": reply.retry_after,
            }
        return out

    def _llm(self, message: dict[str, Any], st: _State) -> None:
        now = time.monotonic()
        try:
            tokens_in = max(int(message.get("input_tokens") or 0), 0)
            tokens_out = max(int(message.get("output_tokens") or 0), 0)
            cost = max(float(message.get("cost_usd") or 0.0), 0.0)
            duration = min(max(float(message.get("duration_s") or 0.0), 0.0), now - st.t0)
        except (TypeError, ValueError):
            tokens_in, tokens_out, cost, duration = 0, 0, 0.0, 0.0
        st.llm_calls += 1
        st.input_tokens += tokens_in
        st.output_tokens += tokens_out
        st.cost_usd += cost
        model = str(message.get("model") or "")[:512]
        st.spans.append(
            Span(
                trace_id=st.trace_id,
                span_id=f"{st.run_id}-{len(st.spans) + 1}",
                parent_span_id=st.parent(),
                run_id=st.run_id,
                name=f"chat {model}"[:512],
                kind="llm",
                agent=str(message.get("agent") or self.agent_name)[:512],
                model=model or None,
                started_at=st.at(now - duration),
                ended_at=st.at(now),
                status="ok",
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cost_usd=cost,
            )
        )

    def _handoff(self, message: dict[str, Any], episode: Episode, st: _State) -> dict[str, Any]:
        try:
            handoff = Handoff.model_validate(message.get("handoff"))
        except ValidationError as exc:
            st.tool_errors += 1
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
            )
            return {
                "t": "result",
                "id": message.get("id"),
                "ok": False,
                "error": {"type": "invalid_arguments", "message": f"hand-off: {detail}"},
            }
        st.handoffs += 1
        missing = sorted(set(episode.constraints) - set(handoff.constraints))
        record = handoff.model_dump()
        episode.env.handoffs.append(record)
        span_id = f"{st.run_id}-{len(st.spans) + 1}"
        parent = st.parent()
        attributes = {
            "handoff.from": str(message.get("agent") or ""),
            "handoff.to": handoff.to,
            "handoff.constraints": handoff.constraints,
            "handoff.constraints_missing": missing,
            "handoff.inputs": sorted(handoff.inputs),
        }
        st.open_handoffs.append((span_id, handoff.to, time.monotonic(), attributes))
        st.spans.append(
            Span(
                trace_id=st.trace_id,
                span_id=span_id,
                parent_span_id=parent,
                run_id=st.run_id,
                name=f"handoff {attributes['handoff.from']} -> {handoff.to}"[:512],
                kind="handoff",
                agent=handoff.to[:512],
                started_at=st.at(time.monotonic()),
                status="ok" if not missing else "error",
                error_type="constraints_dropped" if missing else None,
                input_text=_cap(handoff.goal),
                attributes=attributes,
            )
        )
        return {"t": "result", "id": message.get("id"), "ok": True, "result": "accepted"}

    def _handoff_end(self, message: dict[str, Any], st: _State) -> None:
        to = str(message.get("to") or "")
        for i in range(len(st.open_handoffs) - 1, -1, -1):
            span_id, target, _, _ = st.open_handoffs[i]
            if target == to:
                del st.open_handoffs[i]
                for j, span in enumerate(st.spans):
                    if span.span_id == span_id:
                        st.spans[j] = span.model_copy(update={"ended_at": st.at(time.monotonic())})
                return

    # -- verification and records -----------------------------------------------------
    def _finish(self, spec: TrialSpec, episode: Episode | None, st: _State) -> TrialResult:
        ended = time.monotonic()
        checks: list[Check] = []
        if episode is not None:
            try:
                checks = list(episode.verify(episode.env))
            except Exception as exc:  # a verifier error is a failure, never a pass
                checks = [Check("verifier ran", False, repr(exc)[:_TEXT_CAP])]
                st.fail("error", "verifier_error", repr(exc)[:_TEXT_CAP])
        verdict = Verdict(tuple(checks))
        passed = verdict.passed and st.reason is None
        reason = st.reason
        if reason is None and not verdict.passed:
            reason = "verification_failed"
        duration = ended - st.t0
        ended_at = st.at(ended)
        attributes: dict[str, Any] = {
            "batch": self.batch_id,
            "fault_profile": spec.profile.name,
            "faults": spec.profile.faults,
            "faults_injected": st.faults,
            "variant": spec.task.variant,
            "seed": spec.seed,
            "agent_ref": self.agent_ref,
            "reason": reason,
            "output_bytes": st.output_bytes,
            "sandbox": {
                "landlock": st.confinement.get("landlock", 0),
                "capabilities_dropped": st.confinement.get("capabilities_dropped", False),
                "uid": st.confinement.get("uid"),
                # why Landlock is missing (the worker's error), for the audit to say so
                **({"error": st.confinement["error"]} if st.confinement.get("error") else {}),
            },
        }
        if episode is not None:
            attributes["asked_user"] = episode.env.asked_user
        if st.events:
            attributes["events"] = st.events
        root = Span(
            trace_id=st.trace_id,
            span_id=f"{st.run_id}-root",
            run_id=st.run_id,
            name=f"invoke_agent {self.agent_name}"[:512],
            kind="agent",
            agent=self.agent_name[:512],
            model=self.model,
            started_at=st.started,
            ended_at=ended_at,
            status=st.status,
            error_type=st.reason,
            input_tokens=st.input_tokens,
            output_tokens=st.output_tokens,
            cost_usd=st.cost_usd,
            output_text=st.answer,
            attributes={"fault_profile": spec.profile.name, "task": spec.task.id},
            events=[*st.events, *_error_event(st)],
        )
        run = Run(
            run_id=st.run_id,
            task_id=spec.task.id,
            agent=self.agent_name[:512],
            version=self.version,
            model=self.model,
            environment="trial",
            suite=spec.task.suite,
            trial=spec.trial,
            started_at=st.started,
            ended_at=ended_at,
            status=st.status,
            input_tokens=st.input_tokens,
            output_tokens=st.output_tokens,
            cost_usd=round(st.cost_usd, 8),
            steps=st.steps,
            tool_calls=st.tool_calls,
            tool_errors=st.tool_errors,
            handoffs=st.handoffs,
            attributes=attributes,
        )
        outcome = Outcome(
            run_id=st.run_id,
            label="success" if passed else "failure",
            score=verdict.score,
            source="verified",
            evaluator=f"agentslo.trials/{spec.task.suite}",
            recorded_at=ended_at,
            evidence={
                "reason": reason,
                "failed_checks": verdict.failed(),
                "checks": len(verdict.checks),
                "state_passed": verdict.passed,
            },
        )
        return TrialResult(
            spec, run, [root, *st.spans], outcome, passed, reason, st.steps, duration
        )


def _injected(injection: Injection) -> ToolReply:
    return ToolReply(
        False,
        error_type=injection.error_type,
        message=injection.message,
        retryable=True,
        retry_after=injection.retry_after,
    )


def _error_event(st: _State) -> list[dict[str, Any]]:
    if st.reason is None:
        return []
    event: dict[str, Any] = {"name": "trial_failed", "reason": st.reason}
    if st.error_text:
        event["detail"] = st.error_text
    if st.output_head:
        event["agent_output_head"] = st.output_head[:_TEXT_CAP]
    return [event]


async def _exit_code(worker: Worker) -> int | None:
    try:
        return await asyncio.wait_for(worker.proc.wait(), 2.0)
    except TimeoutError:
        worker.kill()
        return None


def run_trials(
    tasks: Sequence[Task],
    agent: str,
    *,
    k: int = 1,
    profiles: Sequence[FaultProfile] = (FaultProfile("clean"),),
    seed: int = 0,
    concurrency: int = 4,
    budget: Budget | None = None,
    on_result: Callable[[TrialResult], None] | None = None,
    **runner_options: Any,
) -> list[TrialResult]:
    """Run ``k`` trials of each task under each profile with agent ``module:attr``."""
    runner = TrialRunner(agent, concurrency=concurrency, budget=budget, **runner_options)
    return runner.run(plan_trials(tasks, profiles, k, seed), on_result)
