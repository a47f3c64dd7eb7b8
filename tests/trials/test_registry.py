"""Suites are found by decorator and by the ``agentslo.suites`` entry point."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from agentslo.trials import (
    ENTRY_POINT_GROUP,
    Check,
    Environment,
    Episode,
    Task,
    list_suites,
    load_suite,
    select_tasks,
    suite,
    tool,
)


class Counter(Environment):
    @tool(writes=True)
    def bump(self, by: int = 1) -> int:
        """Add ``by`` to the counter."""
        self.state["n"] += by
        return int(self.state["n"])


def _episode(seed: int, variant: str) -> Episode:
    return Episode(
        Counter({"n": seed}),
        "Bump the counter to 3.",
        lambda env: [Check("n is 3", env.state["n"] == 3)],
    )


def test_builtin_suite_is_declared_through_the_entry_point() -> None:
    names = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert names["opsdesk"] == "agentslo.trials.suites.opsdesk:opsdesk"
    assert "opsdesk" in list_suites()


def test_decorator_registers_a_suite_with_schemas() -> None:
    @suite("counter-test")
    def counter() -> list[Task]:
        return [Task("bump", "counter-test", "bump it", _episode)]

    (task,) = load_suite("counter-test")
    episode = task.episode(1)
    spec = next(s for s in episode.env.specs() if s["name"] == "bump")
    assert spec["parameters"]["properties"]["by"]["type"] == "integer"
    assert episode.env.dispatch("bump", {"by": "many"}).error_type == "invalid_arguments"
    assert episode.env.dispatch("bump", {"by": 2}).result == 3
    assert all(c.passed for c in episode.verify(episode.env))


def test_select_tasks_by_glob() -> None:
    tasks = load_suite("opsdesk")
    assert {t.id for t in select_tasks(tasks, "rollback-1*,triage-2")} == {
        "rollback-1",
        "rollback-1-team",
        "triage-2",
    }
    with pytest.raises(ValueError, match="matches no task"):
        select_tasks(tasks, "zzz*")
