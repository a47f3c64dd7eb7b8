"""Scripts of transcript runs: healthy ones, and one per failure mode the detectors seek.

A script is the whole span sequence of a run under its root span — sub-agent spans,
LLM calls with what the model said, tool calls with their JSON arguments and
results, hand-offs with their payloads — together with the failure modes it
contains (its :class:`Case` records, the ground truth). Scripts are written once
per (domain, scenario, variant) when the plan is built; the generator then only
picks a script per transcript run, so text costs nothing per run.

How each failure looks follows production traces, not the detectors' rules: a loop
re-asks for what it already has, sometimes with its arguments in another order; a
run ignoring a failed call often goes on to another call and tells the user all is
well; a premature ending often promises the missing step; a hand-off that loses the
amount leads the receiver to refund the wrong one; a cascade often starts in an
earlier agent than the one whose call fails. Healthy scripts carry what healthy
traffic carries: retries that succeed, polling, clarifying questions, structured
hand-offs, revision rounds, notifications after the verified change.

Cases that follow from how a run ended are derived, not declared: a run that ended
with a sub-goal of its instruction never addressed is an ``open_subgoal`` case, one
whose main change was never read back a ``no_verification`` case.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from agentslo.demo._domains import Domain

__all__ = [
    "FAILURE_SCENARIOS",
    "HEALTHY_SCENARIOS",
    "MODES",
    "ROOT_LIMIT_ERRORS",
    "Case",
    "Entry",
    "Script",
    "write_script",
]

#: Failure mode -> the detector that looks for it (None: no detector does yet).
MODES: Final[dict[str, str | None]] = {
    "repeated_call": "loops",
    "agent_cycle": "loops",
    "step_limit": "loops",
    "unrecovered_fault": "recovery",
    "stuck": "recovery",
    "guessed_ambiguity": None,
    "open_subgoal": "termination",
    "no_verification": "termination",
    "lost_context": "handoff",
    "dropped_field": "handoff",
    "drift": "drift",
    "late_violation": "drift",
    "cascade": "root_cause",
    "unbacked_claim": "claims",
    "claimed_success_failed": "claims",
}

#: How agent frameworks report a run stopped by its step limit (error.type of the root):
#: OpenAI Agents SDK, LangGraph, smolagents, Claude Agent SDK.
ROOT_LIMIT_ERRORS: Final = (
    "MaxTurnsExceeded",
    "GraphRecursionError",
    "AgentMaxStepsError",
    "error_max_turns",
)
#: Tool faults: (error.type, the tool's output text).
_FAULTS: Final = (
    ("http.503", "503 Service Unavailable: upstream connect error"),
    ("timeout", "Read timed out after 10.0 seconds"),
    ("rate_limited", "429 Too Many Requests: rate limit exceeded, retry after 2s"),
    ("http.500", "500 Internal Server Error"),
)
#: Per domain, the entity a cascade gets wrong and its wrong value.
_CORRUPTED: Final = {
    "refunds": ("order", "wrong"),
    "deploys": ("version", "wrong_version"),
    "research": ("company", "wrong_company"),
}
_WEIGHTS: Final = {"llm": 1.0, "tool": 0.3, "handoff": 0.02, "agent": 0.02}


@dataclass(frozen=True)
class Entry:
    """One span of a script. ``role`` 0 is the run's own agent, 1-3 the domain's
    sub-agents; ``parent`` is the index of the parent entry (-1: the root span)."""

    kind: str
    role: int
    parent: int
    tool: str | None = None
    error_type: str | None = None
    input: str | None = None
    output: str | None = None
    attributes: str | None = None
    to_role: int = -1


@dataclass(frozen=True)
class Case:
    """A failure mode in a script: at entry ``entry`` (None: the run as a whole), by
    the agent of ``role``."""

    mode: str
    entry: int | None
    role: int | None

    @property
    def detector(self) -> str | None:
        return MODES[self.mode]


@dataclass(frozen=True)
class Script:
    """A transcript run's spans under its root, and what it contains."""

    scenario: str
    domain: str
    instruction: str
    root_output: str | None
    entries: tuple[Entry, ...]
    cases: tuple[Case, ...]
    #: error.type of the root span (its status is then ``error``), None for ``ok``.
    root_error: str | None
    #: P(verified success); None keeps the agent's own success rate (healthy runs).
    success: float | None
    #: What the agent claims at the end: True success, False failure, None as usual.
    claims: bool | None
    #: Start and end of each entry as fractions of the run (sub-agents cover their spans).
    times: tuple[tuple[float, float], ...] = field(default=())


class _Writer:
    """Appends entries to a script, tracking the current agent and the sub-goals met."""

    def __init__(
        self, domain: Domain, ent: dict[str, str], rng: random.Random, variant: int
    ) -> None:
        self.d, self.e, self.rng, self.variant = domain, ent, rng, variant
        self.entries: list[Entry] = []
        self.cases: list[Case] = []
        self.parent, self.role = -1, 0
        self.goals: set[int] = set()
        self.changed: int | None = None  # entry of the last successful main change
        self.checked = False
        self.instruction = self.f(domain.instruction)
        self.listed = True  # the instruction has numbered sub-goals
        self.n_goals = 3

    def f(self, template: str) -> str:
        return template.format(**self.e)

    def pick(self, options: tuple[str, ...]) -> str:
        return self.f(options[self.rng.randrange(len(options))])

    def share(self, k: int, of: int) -> bool:
        """True for ``k`` in every ``of`` variants: how a script's form is split exactly
        (a random draw per variant would make the shares differ from seed to seed)."""
        return self.variant % of < k

    def _add(self, entry: Entry) -> int:
        self.entries.append(entry)
        return len(self.entries) - 1

    def llm(self, text: str) -> int:
        return self._add(Entry("llm", self.role, self.parent, output=text))

    def tool(self, name: str, args: str, out: str, error: str | None = None) -> int:
        entry = Entry("tool", self.role, self.parent, name, error, args, out)
        return self._add(entry)

    def fault(self, name: str, args: str) -> int:
        error, text = _FAULTS[self.rng.randrange(len(_FAULTS))]
        return self.tool(name, args, text, error)

    def agent(self, role: int, received: str) -> int:
        index = self._add(Entry("agent", role, -1, input=received))
        self.parent, self.role = index, role
        return index

    def handoff(
        self, to_role: int, payload: str, attributes: dict[str, object] | None = None
    ) -> int:
        attrs = {"handoff.to": self.d.subs[to_role - 1], **(attributes or {})}
        index = self._add(
            Entry(
                "handoff",
                self.role,
                self.parent,
                input=payload,
                attributes=json.dumps(attrs),
                to_role=to_role,
            )
        )
        self.agent(to_role, payload)
        return index

    # -- the steps of the task, in the domain's words -------------------------------------

    def lookup(self) -> int:
        self.llm(self.pick(self.d.plan))
        self.goals.add(1)
        return self.tool(self.d.lookup, self.f(self.d.lookup_args), self.f(self.d.lookup_out))

    def decide(self) -> int:
        if self.d.name == "research":
            self.goals.add(2)  # the summary is the second sub-goal
        return self.llm(self.pick(self.d.after_lookup))

    def change(self, args: str | None = None) -> int:
        """The task's main change (with other ``args``: the change made on a wrong object)."""
        index = self.tool(
            self.d.change, self.f(args or self.d.change_args), self.f(self.d.change_out)
        )
        self.goals.add(3 if self.d.name == "research" else 2)
        self.changed, self.checked = index, False
        return index

    def check(self) -> int:
        self.llm(self.pick(self.d.after_change))
        self.checked = True
        return self.tool(self.d.check, self.f(self.d.check_args), self.f(self.d.check_out))

    def notify(self) -> int | None:
        if self.d.name == "research":
            return None  # publishing is the brief's last sub-goal; no notification asked
        self.goals.add(3)
        return self.tool(self.d.notify, self.f(self.d.notify_args), self.f(self.d.notify_out))

    def claim(self) -> int:
        return self.llm(self.pick(self.d.claims))

    def case(self, mode: str, entry: int | None) -> None:
        """Record a failure of ``mode`` at ``entry``, by the agent of that span."""
        role = None if entry is None else self.entries[entry].role
        self.cases.append(Case(mode, entry, role))

    def finish(
        self,
        scenario: str,
        *,
        success: float | None,
        claims: bool | None,
        root_error: str | None = None,
        root_output: bool = True,
    ) -> Script:
        """The script, with the cases that follow from how it ended."""
        last = len(self.entries) - 1
        if self.listed and len(self.goals) < self.n_goals:
            self.case("open_subgoal", last)
        if self.changed is not None and not self.checked:
            self.case("no_verification", self.changed)
        final = self.entries[last]
        output = final.output if root_output and final.kind == "llm" else None
        return Script(
            scenario=scenario,
            domain=self.d.name,
            instruction=self.instruction,
            root_output=output,
            entries=tuple(self.entries),
            cases=tuple(self.cases),
            root_error=root_error,
            success=success,
            claims=claims,
            times=_times(self.entries),
        )


def _times(entries: list[Entry]) -> tuple[tuple[float, float], ...]:
    """Fractions of the run each entry spans: leaves in order, sub-agents around theirs."""
    starts, ends, cursor = [], [], 0.0
    for entry in entries:
        weight = _WEIGHTS[entry.kind]
        starts.append(cursor)
        ends.append(cursor + 0.97 * weight)
        cursor += weight
    for entry, end in zip(entries, list(ends), strict=True):
        if entry.parent >= 0:  # a sub-agent span ends with its last child
            ends[entry.parent] = max(ends[entry.parent], end)
    return tuple((s / cursor, e / cursor) for s, e in zip(starts, ends, strict=True))


# -- healthy scenarios ---------------------------------------------------------------------


def _plain(w: _Writer) -> Script:
    w.lookup()
    w.decide()
    w.change()
    w.check()
    w.notify()
    w.claim()
    return w.finish("healthy/plain", success=None, claims=None)


def _retried(w: _Writer) -> Script:
    """A transient fault on the change, retried with success (sometimes twice)."""
    w.lookup()
    w.decide()
    for _ in range(2 if w.share(1, 4) else 1):
        w.fault(w.d.change, w.f(w.d.change_args))
        w.llm("The call failed with a transient error; retrying.")
    w.change()
    w.check()
    w.notify()
    w.claim()
    return w.finish("healthy/retried_fault", success=None, claims=None)


def _polling(w: _Writer) -> Script:
    """Polling the change's status until it settles: identical calls, changing answers."""
    w.lookup()
    w.decide()
    w.change()
    w.llm(w.pick(w.d.after_change))
    pending = w.f(w.d.check_out).replace("succeeded", "pending").replace("healthy", "rolling_out")
    pending = pending.replace('"published"', '"rendering"')
    for _ in range(w.rng.randrange(1, 3)):
        w.tool(w.d.check, w.f(w.d.check_args), pending)
        w.llm("Not settled yet; checking again in a few seconds.")
    w.tool(w.d.check, w.f(w.d.check_args), w.f(w.d.check_out))
    w.checked = True
    w.notify()
    w.claim()
    return w.finish("healthy/polling", success=None, claims=None)


def _clarified(w: _Writer) -> Script:
    """An ambiguous instruction answered with a question, not a guess."""
    w.instruction, w.listed = w.f(w.d.ambiguous), False
    w.llm(w.pick(w.d.plan))
    w.tool(w.d.search, w.f(w.d.searches[0]), w.f(w.d.lookup_out))
    w.llm(w.f(w.d.ask))
    return w.finish("healthy/clarified", success=0.8, claims=False)


def _handed_off(w: _Writer, *, structured: bool) -> Script:
    """intake -> worker -> reviewer, everything of the instruction carried along."""
    w.agent(1, w.instruction)
    w.llm(f"Routing this to the {w.d.subs[1]} agent.")
    if structured:
        payload = w.f(w.d.payload_json)
        w.handoff(2, payload, {"handoff.required_fields": list(w.d.required_fields)})
    else:
        w.handoff(2, w.f(w.d.payload))
    w.lookup()
    w.decide()
    w.change()
    w.check()
    w.handoff(3, w.f(w.d.partial))
    w.llm("Reviewed: the change is verified and matches the request.")
    w.notify()
    w.claim()
    name = "healthy/structured_handoff" if structured else "healthy/handoff"
    return w.finish(name, success=None, claims=None)


def _long(w: _Writer) -> Script:
    """A long run that stays on its task (a negative for drift)."""
    w.lookup()
    topics = list(w.d.on_topic)
    for i, text in enumerate(topics[:4]):
        w.llm(w.f(text))
        if i == 1:
            w.decide()
    w.change()
    for text in topics[4:6]:
        w.llm(w.f(text))
    w.check()
    w.notify()
    w.llm(w.f(topics[7]))
    w.claim()
    return w.finish("healthy/long", success=None, claims=None)


def _one_revision(w: _Writer) -> Script:
    """One review round between worker and reviewer (a negative for agent cycles)."""
    w.agent(1, w.instruction)
    w.llm(f"Routing this to the {w.d.subs[1]} agent.")
    w.handoff(2, w.f(w.d.payload))
    w.lookup()
    w.decide()
    w.change()
    w.check()
    w.handoff(3, w.f(w.d.partial))
    w.llm(w.f(w.d.revise))
    w.handoff(2, w.f(w.d.revise))
    w.llm(w.f(w.d.revised))
    w.handoff(3, w.f(w.d.revised))
    w.llm("Approved.")
    w.notify()
    w.claim()
    return w.finish("healthy/one_revision", success=None, claims=None)


# -- failure scenarios -----------------------------------------------------------------------


def _repeated_call(w: _Writer) -> Script:
    """The same lookup again and again, its answer already in hand."""
    args = w.f(w.d.lookup_args)
    reordered = w.share(1, 4)  # the model rewrites the arguments in another order
    w.lookup()
    third = None
    for k in range(w.rng.randrange(2, 5)):
        w.llm(w.pick(w.d.plan))
        again = args
        if reordered and k % 2 == 0:
            again = json.dumps(dict(reversed(json.loads(args).items())), separators=(",", ":"))
        index = w.tool(w.d.lookup, again, w.f(w.d.lookup_out))
        third = index if k == 1 else third
    w.llm("I could not complete the request.")
    w.case("repeated_call", third)
    return w.finish("failure/repeated_call", success=0.05, claims=False)


def _agent_cycle(w: _Writer) -> Script:
    """Worker and reviewer send the work back and forth without converging."""
    w.agent(1, w.instruction)
    w.llm(f"Routing this to the {w.d.subs[1]} agent.")
    w.handoff(2, w.f(w.d.payload))
    w.lookup()
    w.decide()
    first = None
    for _ in range(w.rng.randrange(3, 5)):
        index = w.handoff(3, w.f(w.d.revised))
        first = index if first is None else first
        w.llm(w.f(w.d.revise))
        w.handoff(2, w.f(w.d.revise))
        w.llm(w.f(w.d.revised))
    w.case("agent_cycle", first)
    return w.finish("failure/agent_cycle", success=0.05, claims=False)


def _step_limit(w: _Writer) -> Script:
    """Search after search without converging, until the framework stops the run."""
    w.lookup()
    searches = list(w.d.searches)
    for k in range(w.rng.randrange(6, 11)):
        w.llm("No match yet; trying another query.")
        w.tool(w.d.search, w.f(searches[k % len(searches)]), '{"results": []}')
    error = ROOT_LIMIT_ERRORS[w.variant % len(ROOT_LIMIT_ERRORS)]
    w.case("step_limit", len(w.entries) - 1)
    return w.finish("failure/step_limit", success=0.0, claims=None, root_error=error)


def _unrecovered(w: _Writer) -> Script:
    """The change fails and the run moves on as if it had not."""
    w.lookup()
    w.decide()
    fault = w.fault(w.d.change, w.f(w.d.change_args))
    w.case("unrecovered_fault", fault)
    if w.share(1, 2):
        w.llm("I couldn't complete this right now; please try again later.")
        return w.finish("failure/unrecovered_fault", success=0.02, claims=False)
    w.notify()  # carries on with the next call ...
    claim = w.claim()  # ... and reports success
    w.case("unbacked_claim", claim)
    return w.finish("failure/unrecovered_fault", success=0.02, claims=True)


def _stuck(w: _Writer) -> Script:
    """No change of state: the same message, or the same status, turn after turn."""
    w.lookup()
    w.decide()
    w.change()
    repeats = w.rng.randrange(4, 7)
    if w.share(1, 2):
        first = w.llm("Waiting for the change to settle before continuing.")
        for _ in range(repeats - 1):
            w.llm("Waiting for the change to settle before continuing.")
    else:
        pending = w.f(w.d.check_out).replace("succeeded", "pending")
        pending = pending.replace("healthy", "rolling_out").replace('"published"', '"rendering"')
        first = w.tool(w.d.check, w.f(w.d.check_args), pending)
        calls = [first]
        for _ in range(repeats - 1):
            w.llm("Still pending; checking again.")
            calls.append(w.tool(w.d.check, w.f(w.d.check_args), pending))
        w.case("repeated_call", calls[2])
    w.case("stuck", first)
    return w.finish("failure/stuck", success=0.05, claims=None)


def _guessed(w: _Writer) -> Script:
    """An ambiguous instruction answered by picking one reading without asking."""
    w.instruction, w.listed = w.f(w.d.ambiguous), False
    w.llm(w.pick(w.d.plan))
    w.tool(w.d.search, w.f(w.d.searches[0]), w.f(w.d.lookup_out))
    guess = w.llm(w.f(w.d.guess))
    w.case("guessed_ambiguity", guess)
    w.change(w.d.lossy_args)
    w.llm(w.f(w.d.lossy_final))
    return w.finish("failure/guessed_ambiguity", success=0.35, claims=True)


def _open_subgoal(w: _Writer) -> Script:
    """The run stops after the change; the last sub-goal is left (or only promised)."""
    w.lookup()
    w.decide()
    w.change()
    w.check()
    w.llm(w.f(w.d.promise if w.share(1, 4) else w.d.partial))
    if w.d.name == "research":  # publishing is done; the brief asks for one more step
        w.n_goals = 4
        w.instruction += "\n4. Email the sales team a summary"
    return w.finish("failure/open_subgoal", success=0.3, claims=True)


def _no_verification(w: _Writer) -> Script:
    """The change is made and never read back."""
    w.lookup()
    w.decide()
    w.change()
    w.notify()
    w.claim()
    return w.finish("failure/no_verification", success=0.5, claims=True)


def _lost_context(w: _Writer) -> Script:
    """The hand-off drops the ids, amounts and the rule; the receiver acts on the wrong one."""
    w.agent(1, w.instruction)
    w.llm(f"Routing this to the {w.d.subs[1]} agent.")
    handoff = w.handoff(2, w.f(w.d.payload_lossy))
    w.case("lost_context", handoff)
    w.llm(w.f(w.d.lossy_action))
    w.change(w.d.lossy_args)
    w.llm(w.f(w.d.lossy_final))
    return w.finish("failure/lost_context", success=0.03, claims=True)


def _dropped_field(w: _Writer) -> Script:
    """A structured hand-off leaves a required field empty; the receiver fills the gap wrongly."""
    w.agent(1, w.instruction)
    w.llm(f"Routing this to the {w.d.subs[1]} agent.")
    payload = w.f(w.d.payload_dropped)
    handoff = w.handoff(2, payload, {"handoff.required_fields": list(w.d.required_fields)})
    w.case("dropped_field", handoff)
    w.case("lost_context", handoff)
    w.llm(w.f(w.d.lossy_action))
    w.change(w.d.lossy_args)
    w.llm(w.f(w.d.lossy_final))
    return w.finish("failure/dropped_field", success=0.05, claims=True)


def _drift(w: _Writer) -> Script:
    """The run starts on its task and wanders off it, step by step."""
    w.lookup()
    w.llm(w.f(w.d.on_topic[0]))
    w.decide()
    onset = None
    for k, text in enumerate(w.d.off_topic):
        index = w.llm(w.f(text))
        onset = index if onset is None else onset
        if k == 2:
            w.tool(w.d.search, w.f(w.d.searches[1]), '{"results": []}')
    w.case("drift", onset)
    return w.finish("failure/drift", success=0.05, claims=None)


def _late_violation(w: _Writer) -> Script:
    """Late in the run, a step does what the instruction forbids."""
    w.lookup()
    w.decide()
    w.change()
    w.check()
    said = w.llm(w.f(w.d.violation_say)) if w.share(1, 2) else None
    done = w.tool(w.d.violation_tool, w.f(w.d.violation_args), '{"status": "ok"}')
    w.changed, w.checked = done, False  # the forbidden act changed things, unchecked
    w.case("late_violation", said if said is not None else done)
    w.notify()
    w.claim()
    return w.finish("failure/late_violation", success=0.1, claims=True)


def _cascade(w: _Writer) -> Script:
    """One wrong value, introduced at a known step, makes the calls after it fail."""
    if w.share(1, 2):  # the agent that introduced the error is the one whose calls fail
        w.lookup()
        root = w.llm(w.f(w.d.wrong_say))
    else:  # the error comes from an earlier agent, through the hand-off
        w.agent(1, w.instruction)
        root = w.llm(w.f(w.d.wrong_say))
        right, wrong = _CORRUPTED[w.d.name]
        handoff = w.handoff(2, w.f(w.d.payload).replace(w.e[right], w.e[wrong]))
        w.case("lost_context", handoff)  # the right value never reaches the receiver
        w.llm(w.pick(w.d.plan).replace(w.e[right], w.e[wrong]))  # it works on the wrong one
    w.tool(w.d.change, w.f(w.d.wrong_args), w.f(w.d.wrong_out), "http.404")
    w.llm("That failed; trying once more.")
    last = w.tool(w.d.change, w.f(w.d.wrong_args), w.f(w.d.wrong_out), "http.404")
    w.case("cascade", root)
    w.case("unrecovered_fault", last)
    w.llm("I could not complete the request: the target was not found.")
    return w.finish("failure/cascade", success=0.02, claims=False)


def _unbacked_claim(w: _Writer) -> Script:
    """The run reports an action it never performed."""
    w.lookup()
    w.decide()
    claim = w.claim()
    w.case("unbacked_claim", claim)  # the sub-goals are claimed, not done: still open
    return w.finish("failure/unbacked_claim", success=0.03, claims=True)


Builder = Callable[[_Writer], Script]

HEALTHY_SCENARIOS: Final[dict[str, Builder]] = {
    "healthy/plain": _plain,
    "healthy/retried_fault": _retried,
    "healthy/polling": _polling,
    "healthy/clarified": _clarified,
    "healthy/handoff": lambda w: _handed_off(w, structured=False),
    "healthy/structured_handoff": lambda w: _handed_off(w, structured=True),
    "healthy/long": _long,
    "healthy/one_revision": _one_revision,
}
FAILURE_SCENARIOS: Final[dict[str, Builder]] = {
    "failure/repeated_call": _repeated_call,
    "failure/agent_cycle": _agent_cycle,
    "failure/step_limit": _step_limit,
    "failure/unrecovered_fault": _unrecovered,
    "failure/stuck": _stuck,
    "failure/guessed_ambiguity": _guessed,
    "failure/open_subgoal": _open_subgoal,
    "failure/no_verification": _no_verification,
    "failure/lost_context": _lost_context,
    "failure/dropped_field": _dropped_field,
    "failure/drift": _drift,
    "failure/late_violation": _late_violation,
    "failure/cascade": _cascade,
    "failure/unbacked_claim": _unbacked_claim,
}


def write_script(
    scenario: str, domain: Domain, ent: dict[str, str], rng: random.Random, variant: int
) -> Script:
    """Variant ``variant`` of ``scenario`` in ``domain``, with entities ``ent``."""
    builder = HEALTHY_SCENARIOS.get(scenario) or FAILURE_SCENARIOS[scenario]
    return builder(_Writer(domain, ent, rng, variant))
