"""Helpers for the trials tests: run agents from ``trial_agents`` on opsdesk tasks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentslo.trials import (
    Budget,
    TrialResult,
    TrialRunner,
    load_suite,
    parse_profiles,
    plan_trials,
    select_tasks,
)

HERE = Path(__file__).resolve().parent


def run_agent(
    agent: str,
    tasks: str | None = "refund-damage-1",
    *,
    k: int = 1,
    faults: str = "clean",
    seed: int = 0,
    concurrency: int = 2,
    budget: Budget | None = None,
    **options: Any,
) -> list[TrialResult]:
    """Run ``agent`` (``module:attr``; bare names come from trial_agents) on opsdesk tasks."""
    ref = agent if ":" in agent else f"trial_agents:{agent}"
    chosen = select_tasks(load_suite("opsdesk"), tasks)
    runner = TrialRunner(
        ref,
        concurrency=concurrency,
        budget=budget,
        sys_path=[str(HERE), *sys.path],
        **{"world_key": 0, **options},
    )
    return runner.run(plan_trials(chosen, parse_profiles(faults), k, seed))


@pytest.fixture
def run() -> Callable[..., list[TrialResult]]:
    return run_agent
