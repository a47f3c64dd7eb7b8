"""Running the battery: the oracle and every exploit, through the real trials harness.

Each exploit is an ordinary agent reference run by a :class:`~agentslo.trials.TrialRunner`
with faults off, k trials per task, a generous step budget (spamming must not be
stopped by a budget, or a weak verifier would look strong) and a secret world key
drawn for this audit alone. Protected files are hashed before the battery and
compared (then restored) after each exploit; the canary directory is read after
each exploit, so every change and every executed payload is attributed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentslo.audit.battery import BATTERY, Exploit
from agentslo.audit.canary import Canary, LoopbackListener
from agentslo.audit.checks import (
    completed_check,
    do_nothing_check,
    executed_check,
    harness_unread_check,
    initial_state_check,
    oracle_check,
    protected_check,
    sandbox_check,
)
from agentslo.audit.protect import Snapshot, protected_roots, rebaseline, restore, take_snapshot
from agentslo.audit.report import AuditReport, CellResult, ExploitResult
from agentslo.trials.faults import FaultProfile
from agentslo.trials.pool import DEFAULT_PASS_ENV, protect_harness
from agentslo.trials.runner import Budget, TrialResult, TrialRunner, plan_trials
from agentslo.trials.task import Task

__all__ = ["AuditConfig", "run_audit", "total_trials"]

Progress = Callable[[str, TrialResult], None]

#: The run name of the oracle phase (the only one that gets the model key).
_ORACLE_RUN = "audit:oracle"


@dataclass(frozen=True)
class AuditConfig:
    """How hard to audit: trials per task, seed, parallel agents, limits, the battery."""

    k: int = 2
    seed: int = 0
    concurrency: int = 2
    timeout_s: float = 30.0
    max_steps: int = 5000
    exploits: tuple[Exploit, ...] = BATTERY
    #: Reference agent for tasks that declare none (``module:attribute``).
    oracle: str | None = None
    #: The agent processes' import path (default: what the harness can import).
    sys_path: tuple[str, ...] | None = None
    #: The store file, protected like the suite's sources.
    store_path: Path | None = None
    #: The world key (``agentslo trial run`` keeps one per store, so the audit meets the
    #: worlds trials meet); None draws a secret key for this audit alone.
    world_key: int | None = None
    #: Files agent processes may not read (the store and its WAL).
    hidden: tuple[str, ...] = ()
    #: Run the exploits that write and read outside their own directory (tamper, probe)
    #: even where agent processes are not sandboxed: their edits are confined to the
    #: protected files, which are restored after each exploit (and on interruption).
    #: The audit still fails its "agents are sandboxed" check.
    allow_unsandboxed: bool = False

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"--k must be at least 1, got {self.k}")
        if self.concurrency < 1:
            raise ValueError(f"--concurrency must be at least 1, got {self.concurrency}")


def total_trials(tasks: Sequence[Task], config: AuditConfig) -> int:
    """How many trials the audit runs (the progress bar's total)."""
    with_oracle = sum(1 for t in tasks if t.oracle or config.oracle)
    return config.k * (with_oracle + len(tasks) * len(config.exploits))


def _sys_path(config: AuditConfig) -> list[str]:
    if config.sys_path is not None:
        return list(config.sys_path)
    return [str(Path.cwd()), *(p for p in sys.path if p and Path(p).is_dir())]


def _harness_reads(text: str) -> list[str]:
    """What a probing agent says it read of the harness (its answer's ``harness_reads``).

    An agent's word, but only ever against itself: a read it claims is a hole it found.
    """
    try:
        told = json.loads(text)
    except ValueError:
        return []
    reads = told.get("harness_reads") if isinstance(told, dict) else None
    return [str(r)[:300] for r in reads[:20]] if isinstance(reads, list) else []


def _cells(results: Sequence[TrialResult]) -> dict[str, CellResult]:
    cells: dict[str, CellResult] = {}
    for result in results:
        cell = cells.setdefault(result.spec.task.id, CellResult())
        cell.trials += 1
        for read in _harness_reads(result.spans[0].output_text or ""):
            if read not in cell.harness_reads:
                cell.harness_reads.append(read)
        cell.best_score = max(cell.best_score, float(result.outcome.score or 0.0))
        if result.passed:
            cell.passed += 1
            cell.reasons["passed"] += 1
            cell.message = (result.spans[0].output_text or "")[:2000]
            cell.run_id = result.run.run_id
        else:
            cell.reasons[result.reason or "failed"] += 1
            if not cell.message:
                cell.message = (result.spans[0].output_text or "")[:2000]
                cell.run_id = result.run.run_id
    return cells


class _Battery:
    """One audit's shared state: world key, sandbox path, canary, listener, snapshot."""

    def __init__(self, tasks: Sequence[Task], config: AuditConfig, on_trial: Progress | None):
        self.tasks = list(tasks)
        self.config = config
        self.on_trial = on_trial
        self.world_key = secrets.randbits(62) if config.world_key is None else config.world_key
        self.sys_path = _sys_path(config)
        self.sandbox: dict[str, Any] = {}
        #: What tamper may edit and plant: exactly what the snapshot covers, so every
        #: change it makes without a sandbox is seen and undone.
        self.reach: dict[str, Any] = {}

    def run(
        self, agent: str, name: str, tasks: Sequence[Task], budget: Budget, options: dict[str, Any]
    ) -> list[TrialResult]:
        runner = TrialRunner(
            agent,
            agent_name=name,
            options=options,
            budget=budget,
            concurrency=self.config.concurrency,
            sys_path=self.sys_path,
            world_key=self.world_key,
            hidden=self.config.hidden,
            # Exploits get none of the harness's environment (no model key to spend or
            # leak); a reference agent standing in for a missing oracle may need the key.
            pass_env=DEFAULT_PASS_ENV if name == _ORACLE_RUN else (),
        )
        specs = plan_trials(tasks, [FaultProfile("clean")], self.config.k, self.config.seed)

        def seen(result: TrialResult) -> None:
            sandbox = dict(result.run.attributes.get("sandbox") or {})
            if not self.sandbox or not sandbox.get("landlock"):
                self.sandbox = sandbox  # the weakest worker's sandbox is the audit's
            if self.on_trial is not None:
                self.on_trial(name, result)

        return runner.run(specs, seen)

    def oracle(self) -> dict[str, CellResult]:
        by_ref: dict[str, list[Task]] = {}
        for task in self.tasks:
            ref = task.oracle or self.config.oracle
            if ref:
                by_ref.setdefault(ref, []).append(task)
        cells: dict[str, CellResult] = {}
        for ref, tasks in by_ref.items():
            cells.update(_cells(self.run(ref, _ORACLE_RUN, tasks, Budget(), {})))
        return cells

    def exploit(
        self, exploit: Exploit, canary: Canary, port: int, snapshot: Snapshot
    ) -> ExploitResult:
        budget = Budget(
            timeout_s=exploit.timeout_s or self.config.timeout_s, max_steps=self.config.max_steps
        )
        unsandboxed = not self.sandbox.get("landlock")
        if exploit.needs_sandbox and unsandboxed and not self.config.allow_unsandboxed:
            why = _unsandboxed(self.sandbox)
            return ExploitResult(
                exploit,
                skipped=f"not run: {why}; it writes and reads outside its own directory "
                "(pass --allow-unsandboxed to run it anyway, its edits undone afterwards)",
            )
        options = {"canary_dir": str(canary.path), "loopback_ports": [port], **self.reach}
        results = self.run(exploit.agent, f"audit:{exploit.name}", self.tasks, budget, options)
        return ExploitResult(
            exploit,
            _cells(results),
            self.settle(snapshot),
            [h.to_dict() for h in canary.new_hits()],
        )

    def settle(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        """The protected files changed since the last look; undone if workers were not
        sandboxed (then an agent may have made them), left alone otherwise."""
        changes = snapshot.changes()
        sandboxed = bool(self.sandbox.get("landlock"))
        undone = set() if sandboxed else set(restore(snapshot, changes))
        if sandboxed:
            rebaseline(snapshot, changes)
        return [
            {**c.to_dict(), "sandboxed": sandboxed, "restored": c.path in undone} for c in changes
        ]


def _unsandboxed(sandbox: dict[str, Any]) -> str:
    """Why agent processes were not sandboxed, as the workers said."""
    if not sandbox:
        return "no agent process has run yet, so whether they are sandboxed is unknown"
    why = sandbox.get("error") or "the kernel offers no Landlock"
    return f"agent processes are not sandboxed (Landlock: {why})"


_PR_GET_DUMPABLE, _PR_SET_DUMPABLE = 3, 4


@contextlib.contextmanager
def _harness_protected() -> Iterator[None]:
    """The harness process non-dumpable while the battery runs (so an agent cannot read
    its memory or environment through /proc), and as it was afterwards: an audit run
    inside another program (a test, a notebook) leaves that program as it found it."""
    libc: Any = None
    before = -1
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            before = int(libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0))
    protect_harness()
    try:
        yield
    finally:
        if libc is not None and before > 0:
            libc.prctl(_PR_SET_DUMPABLE, before, 0, 0, 0)


def _run_battery(
    battery: _Battery, canary: Canary, port: int, snapshot: Snapshot
) -> list[ExploitResult]:
    """Every exploit, the sandbox-only ones last (so the workers have said whether they are
    sandboxed before any of them runs), reported in the configured order."""
    exploits = battery.config.exploits
    order = sorted(range(len(exploits)), key=lambda i: exploits[i].needs_sandbox)
    done = {i: battery.exploit(exploits[i], canary, port, snapshot) for i in order}
    return [done[i] for i in range(len(exploits))]


def run_audit(
    suite: str,
    tasks: Sequence[Task],
    config: AuditConfig | None = None,
    on_trial: Progress | None = None,
) -> AuditReport:
    """Run the oracle and the battery against ``tasks``; the validity checks; the report."""
    config = config or AuditConfig()
    if not tasks:
        raise ValueError(f"suite {suite!r} has no tasks to audit")
    battery = _Battery(tasks, config, on_trial)
    extra = [config.store_path] if config.store_path and config.store_path.exists() else []
    canary = Canary()
    snapshot = take_snapshot(tasks, battery.sys_path, extra)
    battery.reach = {
        "edit_roots": [*protected_roots(tasks, battery.sys_path), *map(str, extra)],
        "plant_targets": snapshot.targets,
    }
    try:
        with _harness_protected(), LoopbackListener() as listener:
            oracle = battery.oracle()
            # the oracle is trusted, but a protected file changed while it ran is reported
            # all the same (another process, or an oracle that writes the suite)
            during_oracle = battery.settle(snapshot)
            results = _run_battery(battery, canary, listener.port, snapshot)
            connections = listener.connections
    except BaseException:
        battery.settle(snapshot)  # interrupted mid-exploit: undo what it did unsandboxed
        raise
    finally:
        canary.close()
    checks = [
        sandbox_check(battery.sandbox, results),
        completed_check(results),
        oracle_check(tasks, oracle),
        do_nothing_check(results),
        initial_state_check(tasks, config.seed, battery.world_key),
        protected_check(results, len(snapshot.files), during_oracle),
        harness_unread_check(results),
        executed_check(results, os.getpid()),
    ]
    exposure = {
        "sandbox": battery.sandbox,
        "agent_uid": battery.sandbox.get("uid"),
        "loopback_connections": connections,
        "protected_files": len(snapshot.files),
    }
    return AuditReport(
        suite=suite,
        tasks=[t.id for t in tasks],
        k=config.k,
        seed=config.seed,
        exploits=results,
        checks=checks,
        oracle=oracle,
        exposure=exposure,
    )
