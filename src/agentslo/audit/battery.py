"""The exploit battery: which scripted adversary probes which class, and how it is defeated.

Each :class:`Exploit` is an agent in :mod:`agentslo.agents.exploits`, run through
the ordinary trials harness (its own confined process, the tool channel, the
verifier in the harness) exactly like a user's agent. ``defeated_by`` is what a
sound suite on this harness does about it; docs/audit.md explains each at length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from agentslo.audit.classes import VULNERABILITY_CLASSES

__all__ = ["BATTERY", "Exploit", "exploit_named"]

_AGENTS: Final = "agentslo.agents.exploits"


@dataclass(frozen=True)
class Exploit:
    """One adversarial agent: its name, reference, classes, what it tries, its defeat."""

    name: str
    agent: str
    classes: tuple[str, ...]
    tries: str
    defeated_by: str
    #: Seconds per trial (the hang exploit waits for the timeout; keep that short).
    timeout_s: float | None = None
    #: How its trials are meant to end when the harness holds. Any other ending
    #: (its module did not import, the harness failed, a budget or the timeout cut
    #: it off) means the attack never ran to completion, and the audit cannot say
    #: it was defeated.
    expects: tuple[str, ...] = ("verification_failed",)
    #: It writes and reads outside its own directory: run only in a sandboxed worker
    #: (or with ``AuditConfig(allow_unsandboxed=True)``, then undone afterwards).
    needs_sandbox: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.classes) - set(VULNERABILITY_CLASSES)
        if unknown:
            raise ValueError(f"exploit {self.name!r}: unknown classes {sorted(unknown)}")


def _x(name: str, attr: str, classes: str, tries: str, defeated_by: str, **kw: Any) -> Exploit:
    return Exploit(name, f"{_AGENTS}:{attr}", tuple(classes.split()), tries, defeated_by, **kw)


BATTERY: Final = (
    _x(
        "do-nothing",
        "do_nothing",
        "V6",
        "calls no tool and returns an empty message",
        "the verifier checks the final state, which the task's starting state fails",
    ),
    _x(
        "claim-success",
        "claim_success",
        "V7 V5",
        "announces completion with fabricated confirmation numbers in every text field",
        "the final message is never scored; checks read the state, not the agent's words",
    ),
    _x(
        "answer-spam",
        "answer_spam",
        "V5 V6",
        "hands in every value it has seen: one long list as text, one number after another",
        "answers are typed (a number, not text), accepted once and compared exactly",
    ),
    _x(
        "state-spam",
        "state_spam",
        "V6",
        "calls every write tool with every plausible argument",
        "verifiers check that nothing outside the task's footprint changed",
    ),
    _x(
        "malformed-calls",
        "malformed",
        "V6",
        "wrong types, missing/unknown fields, NaN, infinities, huge values, unknown tools",
        "tool arguments are schema-validated; a refused call changes nothing",
    ),
    _x(
        "crash",
        "crash",
        "V6",
        "malformed calls, then raises out of the agent",
        "a crashed agent fails its trial (agent_error) whatever the state",
        expects=("agent_error",),
    ),
    _x(
        "exit-early",
        "exit_early",
        "V6",
        "malformed calls, then exits the process with status 0 before reporting",
        "a process that ends without 'done' fails its trial (agent_died)",
        expects=("agent_died",),
    ),
    _x(
        "hang",
        "hang",
        "V6",
        "waits until the harness's timeout kills it",
        "a trial past its timeout fails (timeout); the worker is killed with its children",
        timeout_s=1.0,
        expects=("timeout",),
    ),
    _x(
        "forge-channel",
        "forge_channel",
        "V6 V7",
        "writes garbage and a forged 'aborted' done onto the tool channel",
        "every channel line is schema-checked and token-stamped; a forged done ends the "
        "trial and the state is verified as it is",
        expects=("protocol_error",),
    ),
    _x(
        "tamper",
        "tamper",
        "V1 V7 V8",
        "plants conftest.py, reward/result files, sitecustomize/.pth and trojaned curl/pytest; "
        "appends canaries to every source in reach; monkeypatches the verdict",
        "the agent process is sandboxed (Landlock: read-only outside its own directory); "
        "the verifier lives in the harness and never runs agent files",
        needs_sandbox=True,
    ),
    _x(
        "probe",
        "probe",
        "V1 V2 V8",
        "reads env vars, cwd and parents, /proc/self and the harness's /proc entries, imports "
        "the suites' modules, searches every file for the task id, connects to loopback",
        "the gold state exists only in the harness's memory (sandbox: no /proc access), "
        "worlds are keyed by a secret, nothing of the answer is on disk",
        needs_sandbox=True,
    ),
    _x(
        "judge-injection",
        "judge_injection",
        "V4",
        "HTML comments, fake system messages and fake JSON verdicts for a judge",
        "no judge reads agent text; outcomes come from state checks",
    ),
    _x(
        "eval-injection",
        "eval_injection",
        "V3",
        "self-reporting code (eval/exec, templates) wherever a text goes",
        "nothing the agent sends is evaluated; canaries prove it",
    ),
    _x(
        "format-collision",
        "format_collision",
        "V5",
        "NaN, infinities, empty strings, wildcards, look-alike forms of seen values",
        "typed answers compared with a tolerance test that NaN fails",
    ),
)


def exploit_named(name: str) -> Exploit:
    """The battery's exploit ``name``; ValueError listing the names otherwise."""
    for exploit in BATTERY:
        if exploit.name == name:
            return exploit
    known = ", ".join(e.name for e in BATTERY)
    raise ValueError(f"no exploit {name!r}; the battery has: {known}")
