"""The task model: an instruction, a seeded environment and a verifier of final state.

A :class:`Task` is cheap to list; ``task.episode(seed)`` builds one instance of it
(the world for that seed, the instruction, and the checks). The verifier reads the
environment's final state, and the value submitted through the environment's typed
``submit_answer`` tool where the task asks for an answer; it never reads what the
agent said it did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agentslo.trials.env import Environment

__all__ = ["Check", "Episode", "Task", "Variant", "Verdict"]

Variant = Literal["single", "team"]


@dataclass(frozen=True)
class Check:
    """One verified fact about the final state."""

    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """The verifier's result: passed only when every check holds."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def score(self) -> float:
        return sum(c.passed for c in self.checks) / len(self.checks) if self.checks else 0.0

    def failed(self) -> list[dict[str, str]]:
        return [{"check": c.name, "detail": c.detail} for c in self.checks if not c.passed]


@dataclass
class Episode:
    """One instance of a task: the world, what the agent is told, and how it is judged.

    ``vague_instruction`` / ``clarification`` make the ``ambiguous`` fault possible:
    the agent gets the vague text, and ``ask_user`` answers with the missing detail.
    ``change`` mutates a record mid-run (the ``mid-run-change`` fault) and returns a
    description for the trace. ``constraints`` are the ids a planner must carry into
    every hand-off in the team variant.
    """

    env: Environment
    instruction: str
    verify: Callable[[Environment], list[Check]]
    vague_instruction: str | None = None
    clarification: str | None = None
    change: Callable[[Environment, Any], str] | None = None
    constraints: tuple[str, ...] = ()
    executor_tools: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Task:
    """A registered task: ``build(seed)`` makes an :class:`Episode` for that seed.

    ``oracle`` names a reference agent (``module:attribute``) that solves the task
    in a clean world: ``agentslo audit`` runs it to show the task is solvable, so
    that "no exploit scored" cannot come from a task nobody can pass.
    """

    id: str
    suite: str
    summary: str
    build: Callable[[int, Variant], Episode] = field(repr=False)
    variant: Variant = "single"
    tags: tuple[str, ...] = ()
    oracle: str | None = None

    def episode(self, seed: int) -> Episode:
        return self.build(seed, self.variant)
