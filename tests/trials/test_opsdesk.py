"""The opsdesk suite: every task solvable, none passed by doing nothing, faults matter."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from agentslo.trials import Budget, TrialResult, load_suite, summarize
from agentslo.trials.suites.opsdesk import TEMPLATES

Run = Callable[..., list[TrialResult]]


def test_suite_has_thirty_distinct_long_horizon_tasks() -> None:
    tasks = load_suite("opsdesk")
    single = [t for t in tasks if t.variant == "single"]
    assert len(single) >= 30 and len(tasks) == 2 * len(single)
    assert {t.tags[0] for t in tasks} == set(TEMPLATES)
    episodes = [t.episode(0) for t in single]
    distinct = {json.dumps([e.instruction, e.env.state], sort_keys=True) for e in episodes}
    assert len(distinct) == len(single)  # every task is its own scenario
    assert len({e.instruction for e in episodes}) >= 20
    # the same task and seed build the same world; another seed builds another
    a, b, c = (load_suite("opsdesk")[0].episode(s) for s in (0, 0, 1))
    assert a.env.state == b.env.state and a.env.state != c.env.state


def test_every_oracle_passes_on_clean_and_do_nothing_passes_none(run: Run) -> None:
    oracle = run("agentslo.agents.opsdesk:oracle", None)
    failed = [(r.spec.task.id, r.reason, r.outcome.evidence) for r in oracle if not r.passed]
    assert not failed
    assert len(oracle) == 60
    steps = [r.steps for r in oracle]
    assert min(steps) >= 8 and max(steps) <= 40, steps
    nothing = run("agentslo.agents.opsdesk:do_nothing", None)
    assert [r.spec.task.id for r in nothing if r.passed] == []
    assert all(r.reason == "verification_failed" for r in nothing)
    # the agent's claim of success is recorded, never scored
    assert all("successfully" in (r.spans[0].output_text or "") for r in nothing)


def test_team_variant_records_handoffs_and_agent_labels(run: Run) -> None:
    (result,) = run("agentslo.agents.opsdesk:oracle", "recall-2-team")
    assert result.passed, result.outcome.evidence
    kinds = Counter((s.kind, s.agent) for s in result.spans)
    assert kinds[("handoff", "ops")] == 1
    handoff = next(s for s in result.spans if s.kind == "handoff")
    assert handoff.attributes["handoff.constraints_missing"] == []
    assert handoff.parent_span_id == result.spans[0].span_id  # the root agent span
    assert handoff.ended_at is not None
    writes = [s for s in result.spans if s.kind == "tool" and s.attributes["writes"]]
    assert writes and all(s.agent == "ops" and s.parent_span_id == handoff.span_id for s in writes)
    assert any(s.kind == "tool" and s.agent == "planner" for s in result.spans)
    assert result.run.handoffs == 1


def test_planner_that_writes_or_drops_constraints_fails(run: Run) -> None:
    (solo,) = run("agentslo.agents.opsdesk:oracle", "recall-2-team", agent_name="x")
    assert solo.passed
    # the single-agent playbook on a team task: writes are refused outside a hand-off
    (direct,) = run("test_team_agents:solo_on_team", "recall-2-team")
    assert not direct.passed
    assert any(s.error_type == "forbidden" for s in direct.spans)
    (lossy,) = run("test_team_agents:lossy_planner", "recall-2-team")
    assert not lossy.passed
    failed = {c["check"] for c in lossy.outcome.evidence["failed_checks"]}
    assert failed == {"constraints carried forward"}
    handoff = next(s for s in lossy.spans if s.kind == "handoff")
    assert handoff.attributes["handoff.constraints_missing"]


def test_robust_beats_brittle_under_faults_and_the_summary_shows_it(run: Run) -> None:
    faults = "clean,api-errors:0.2,malformed:0.1,conflicting-sources,ambiguous,mid-run-change"
    tasks = "refund-damage-2,restock-3,recall-1,triage-2,refund-total-1,rollback-1-team"
    robust = summarize(run("agentslo.agents.opsdesk:robust", tasks, k=2, faults=faults))
    brittle = summarize(run("agentslo.agents.opsdesk:brittle", tasks, k=2, faults=faults))
    r = {p.profile: p for p in robust.profiles}
    b = {p.profile: p for p in brittle.profiles}
    assert r["clean"].success_rate == b["clean"].success_rate == 1.0
    for name in r:
        assert r[name].robustness == 1.0, name
        if name != "clean":
            assert (b[name].robustness or 0.0) < 1.0, name
    assert (b["api-errors:0.2"].robustness or 0.0) < 0.5
    assert b["ambiguous"].robustness == 0.0
    assert brittle.reasons.get("agent_error", 0) > 0
    assert r["clean"].pass_k[2] == 1.0 and set(r["clean"].pass_at_k) == {1, 2}


def test_state_spam_passes_nothing(run: Run) -> None:
    results = run("state_spam", "*-[0-9]", budget=Budget(max_steps=5000))
    assert len(results) == 30
    assert all(r.reason == "verification_failed" for r in results)
    failed = [{c["check"] for c in r.outcome.evidence["failed_checks"]} for r in results]
    assert sum("nothing else changed" in f for f in failed) >= 25
