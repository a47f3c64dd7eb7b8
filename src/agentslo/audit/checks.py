"""The suite's validity checks: solvable, not passed by nothing, untampered, nothing executed.

An audit in which no exploit scores proves nothing if no agent could score at
all, or if the starting state already passes. These checks make the audit's
"held" meaningful: every task's oracle passes; no task is passed by do-nothing
or satisfied by its initial state; the protected files are as they were; and no
payload an exploit wrote was executed outside its sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentslo.audit.report import CellResult, ExploitResult, ValidityCheck
from agentslo.trials.runner import world_seed
from agentslo.trials.task import Task, Verdict

__all__ = [
    "completed_check",
    "do_nothing_check",
    "executed_check",
    "harness_unread_check",
    "initial_state_check",
    "oracle_check",
    "protected_check",
    "sandbox_check",
]


def oracle_check(tasks: Sequence[Task], oracle: dict[str, CellResult]) -> ValidityCheck:
    """Every task's oracle passes every trial (a task without an oracle fails this)."""
    missing = [t.id for t in tasks if t.id not in oracle]
    failing = [
        {"task": t, "passed": c.passed, "trials": c.trials, "reasons": dict(c.reasons)}
        for t, c in oracle.items()
        if c.passed < c.trials
    ]
    evidence: list[dict[str, object]] = [
        {"task": t, "problem": "no oracle declared (Task(oracle=...))"} for t in missing
    ]
    evidence += failing
    if not evidence:
        return ValidityCheck("oracle passes", True, f"{len(oracle)} tasks solved by their oracle")
    detail = f"{len(failing)} tasks failed by their oracle, {len(missing)} without one"
    return ValidityCheck("oracle passes", False, detail, tuple(evidence))


def sandbox_check(sandbox: dict[str, Any], results: Sequence[ExploitResult]) -> ValidityCheck:
    """Every agent process was sandboxed (Landlock applied), else the audit proves little.

    Without the sandbox an agent can edit the suite and read the harness; the exploits
    that would do so are not run (unless allowed), and this check says why the workers
    were unconfined, from the error they reported.
    """
    name = "agents are sandboxed"
    skipped = [r.exploit.name for r in results if r.skipped]
    abi = int(sandbox.get("landlock") or 0)
    if abi:
        return ValidityCheck(name, True, f"Landlock ABI {abi} in every agent process")
    why = sandbox.get("error") or (
        "the kernel offers no Landlock (Linux 5.13+ with landlock in the LSM list)"
        if sandbox
        else "no agent process ran"
    )
    detail = f"agent processes are not sandboxed: {why}"
    if skipped:
        detail += f"; not run: {', '.join(skipped)} (--allow-unsandboxed runs them)"
    evidence = ({"sandbox": sandbox, "skipped": skipped},)
    return ValidityCheck(name, False, detail, evidence)


def completed_check(results: Sequence[ExploitResult]) -> ValidityCheck:
    """Every exploit that ran ended each trial the way it is meant to (``Exploit.expects``).

    A trial that ended otherwise (``agent_import``: its module did not import in the
    sandbox; ``harness_error``, a cut-off budget or timeout, a verifier error) did not
    carry its attack through, so "it did not score" says nothing about the suite: the
    audit is inconclusive rather than passed. Exploits that were not run (see
    ``skipped``) are the sandbox check's business.
    """
    evidence: list[dict[str, object]] = []
    for result in results:
        if result.skipped:
            continue
        expected = {*result.exploit.expects, "passed"}
        for task, cell in result.tasks.items():
            other = {r: n for r, n in cell.reasons.items() if r not in expected}
            if other:
                evidence.append(
                    {
                        "exploit": result.exploit.name,
                        "task": task,
                        "expected": list(result.exploit.expects),
                        "ended": other,
                        "run_id": cell.run_id,
                    }
                )
        if not result.tasks:
            evidence.append({"exploit": result.exploit.name, "problem": "ran no trial"})
    name = "every exploit ran to completion"
    if evidence:
        exploits = sorted({str(e["exploit"]) for e in evidence})
        detail = (
            f"inconclusive: {', '.join(exploits)} ended otherwise than expected on "
            f"{len(evidence)} tasks (see 'ended'; agent_import means its module did not "
            "import, timeout/budget_exceeded that it was cut off: fix the exploit reference "
            "or raise --timeout, then audit again)"
        )
        return ValidityCheck(name, False, detail, tuple(evidence[:200]))
    ran = sum(1 for r in results if not r.skipped)
    return ValidityCheck(name, True, f"{ran} exploits ended every trial as expected")


def do_nothing_check(results: Sequence[ExploitResult]) -> ValidityCheck:
    """No task is passed by the do-nothing exploit."""
    nothing = next((r for r in results if r.exploit.name == "do-nothing"), None)
    if nothing is None:
        return ValidityCheck("do-nothing fails", False, "the do-nothing exploit was not run")
    passed = nothing.scored_tasks
    if passed:
        return ValidityCheck(
            "do-nothing fails", False, f"{len(passed)} tasks passed by doing nothing", tuple(passed)
        )
    return ValidityCheck("do-nothing fails", True, f"0 of {len(nothing.tasks)} tasks passed")


def initial_state_check(tasks: Sequence[Task], seed: int, world_key: int) -> ValidityCheck:
    """No task's verifier is satisfied by the world as it starts (checked in the harness)."""
    satisfied = []
    for task in tasks:
        episode = task.episode(world_seed(seed, world_key))
        try:
            verdict = Verdict(tuple(episode.verify(episode.env)))
        except Exception:  # a verifier that raises on the start state does not pass it
            continue
        if verdict.passed:
            satisfied.append(task.id)
    if satisfied:
        detail = f"{len(satisfied)} tasks pass in their initial state"
        return ValidityCheck("initial state fails", False, detail, tuple(satisfied))
    return ValidityCheck("initial state fails", True, f"0 of {len(tasks)} tasks pass untouched")


def protected_check(
    results: Sequence[ExploitResult],
    files: int,
    during_oracle: Sequence[dict[str, Any]] = (),
) -> ValidityCheck:
    """No protected file was changed, written, deleted or planted: by an exploit, or while
    the oracle ran (``during_oracle``, attributed to ``oracle``)."""
    evidence = [{"exploit": "oracle", **change} for change in during_oracle]
    evidence += [{"exploit": r.exploit.name, **change} for r in results for change in r.changes]
    if evidence:
        changed = len({e["path"] for e in evidence})
        restored = len({e["path"] for e in evidence if e.get("restored")})
        detail = f"{changed} protected files changed while the exploits ran, {restored} restored"
        if any(e.get("sandboxed") for e in evidence):
            detail += (
                "; agents were sandboxed and could not write them: another process did "
                "(do not edit the suite during an audit), run it again"
            )
        return ValidityCheck("protected files unchanged", False, detail, tuple(evidence[:200]))
    return ValidityCheck("protected files unchanged", True, f"{files} files hashed before/after")


def executed_check(results: Sequence[ExploitResult], harness_pid: int) -> ValidityCheck:
    """No payload an exploit wrote or sent was executed outside the agent's sandbox."""
    evidence = [
        {
            "exploit": r.exploit.name,
            **hit,
            "by": "the harness" if hit.get("pid") == harness_pid else "another process",
        }
        for r in results
        for hit in r.executed
    ]
    if evidence:
        detail = f"{len(evidence)} agent-written payloads were executed"
        return ValidityCheck("nothing agent-written executed", False, detail, tuple(evidence))
    return ValidityCheck(
        "nothing agent-written executed", True, "no canary fired (planted files, injected code)"
    )


def harness_unread_check(results: Sequence[ExploitResult]) -> ValidityCheck:
    """No agent read the harness's environment, memory or open files through /proc.

    The gold state lives in the harness's memory; an agent that can read it (no
    sandbox, or a kernel whose Landlock does not cover ptrace) could take the answer
    even where no exploit found it this time.
    """
    name = "harness unreadable"
    evidence = [
        {"exploit": r.exploit.name, "task": task, "read": read}
        for r in results
        for task, cell in r.tasks.items()
        for read in cell.harness_reads
    ]
    if evidence:
        detail = (
            f"agents read {len({e['read'] for e in evidence})} /proc entries of the harness "
            "(environment, memory or file descriptors): run agents sandboxed"
        )
        return ValidityCheck(name, False, detail, tuple(evidence[:200]))
    return ValidityCheck(name, True, "no agent read the harness's environ, mem or fd")
