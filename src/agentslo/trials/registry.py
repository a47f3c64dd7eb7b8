"""Suites: registered by a decorator, or shipped by any package through an entry point.

A suite is a function returning its tasks. Register one in code::

    @suite("mysuite")
    def mysuite() -> list[Task]: ...

or, from another package, declare it in that package's ``pyproject.toml``::

    [project.entry-points."agentslo.suites"]
    mysuite = "mypackage.suite:mysuite"

The built-in ``opsdesk`` suite is declared the same way.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Final

from agentslo.trials.task import Task

__all__ = [
    "ENTRY_POINT_GROUP",
    "SuiteNotFound",
    "list_suites",
    "load_suite",
    "select_tasks",
    "suite",
]

ENTRY_POINT_GROUP: Final = "agentslo.suites"
SuiteFactory = Callable[[], list[Task]]
_REGISTERED: dict[str, SuiteFactory] = {}


class SuiteNotFound(LookupError):  # noqa: N818 - reads as a sentence in messages
    """No suite of that name is registered."""


def suite(name: str) -> Callable[[SuiteFactory], SuiteFactory]:
    """Register the decorated function as suite ``name``."""

    def register(factory: SuiteFactory) -> SuiteFactory:
        _REGISTERED[name] = factory
        return factory

    return register


def list_suites() -> dict[str, SuiteFactory]:
    """Every known suite: registered in code, then declared by entry points."""
    found = dict(_REGISTERED)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            found[ep.name] = _lazy(ep.name, ep.value)
    return found


def _lazy(name: str, value: str) -> SuiteFactory:
    def load() -> list[Task]:
        for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
            if ep.value == value:
                return list(ep.load()())
        raise SuiteNotFound(name)

    return load


def load_suite(name: str) -> list[Task]:
    """The tasks of suite ``name``; raise SuiteNotFound listing the known suites."""
    factories = list_suites()
    if name not in factories:
        known = ", ".join(sorted(factories)) or "none"
        raise SuiteNotFound(
            f"no suite {name!r}; known suites: {known} (a package adds one through the "
            f"{ENTRY_POINT_GROUP!r} entry-point group)"
        )
    return factories[name]()


def select_tasks(tasks: list[Task], pattern: str | None) -> list[Task]:
    """Tasks whose id matches any comma-separated glob in ``pattern`` (all if None)."""
    if not pattern:
        return tasks
    globs = [p.strip() for p in pattern.split(",") if p.strip()]
    chosen = [t for t in tasks if any(fnmatch.fnmatchcase(t.id, g) for g in globs)]
    if not chosen:
        raise ValueError(f"--tasks {pattern!r} matches no task; see `agentslo trial list`")
    return chosen
