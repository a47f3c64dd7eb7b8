"""The trials harness: repeated, fault-injected, outcome-verified runs of agent tasks.

A task is an instruction, a seeded simulated environment reachable only through
typed tools, and a verifier of the environment's final state. The runner executes
agents in isolated worker processes, injects faults from named profiles, verifies
in the harness process, and produces runs, spans and ``verified`` outcomes for the
store. See docs/trials.md.
"""

from agentslo.trials.env import Environment, Tool, ToolError, ToolReply, tool
from agentslo.trials.faults import FAULT_KINDS, FaultProfile, parse_profiles
from agentslo.trials.registry import (
    ENTRY_POINT_GROUP,
    SuiteNotFound,
    list_suites,
    load_suite,
    select_tasks,
    suite,
)
from agentslo.trials.runner import (
    Budget,
    TrialResult,
    TrialRunner,
    TrialSpec,
    plan_trials,
    run_trials,
)
from agentslo.trials.summary import TrialSummary, summarize
from agentslo.trials.task import Check, Episode, Task, Verdict

__all__ = [
    "ENTRY_POINT_GROUP",
    "FAULT_KINDS",
    "Budget",
    "Check",
    "Environment",
    "Episode",
    "FaultProfile",
    "SuiteNotFound",
    "Task",
    "Tool",
    "ToolError",
    "ToolReply",
    "TrialResult",
    "TrialRunner",
    "TrialSpec",
    "TrialSummary",
    "Verdict",
    "list_suites",
    "load_suite",
    "parse_profiles",
    "plan_trials",
    "run_trials",
    "select_tasks",
    "suite",
    "summarize",
    "tool",
]
