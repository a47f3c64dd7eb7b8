"""Fault profiles: parsing, seeding, and what each fault does on the channel."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentslo.trials import FAULT_KINDS, FaultProfile, TrialResult, parse_profiles
from agentslo.trials.faults import Injector

Run = Callable[..., list[TrialResult]]


def test_profiles_parse_and_compose() -> None:
    profiles = parse_profiles("clean,api-errors:0.2,stale-reads+mid-run-change,clean")
    assert [p.name for p in profiles] == ["clean", "api-errors:0.2", "stale-reads+mid-run-change"]
    assert profiles[0].clean
    assert profiles[1].faults == {"api-errors": 0.2}
    assert profiles[2].faults == {
        "stale-reads": FAULT_KINDS["stale-reads"][0],
        "mid-run-change": 1.0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gremlins", "unknown fault 'gremlins'"),
        ("api-errors:lots", "is not a number"),
        ("api-errors:1.5", "between 0 and 1"),
    ],
)
def test_bad_profiles_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_profiles(text)


def test_injection_is_seeded() -> None:
    profile = FaultProfile("x", {"api-errors": 0.3, "rate-limits": 0.1})

    def decisions(seed: list[int]) -> list[str | None]:
        injector = Injector(profile, seed)
        return [getattr(injector.before(f"t{i}"), "kind", None) for i in range(200)]

    assert decisions([1, 2]) == decisions([1, 2])
    assert decisions([1, 2]) != decisions([1, 3])
    hits = decisions([7, 7])
    assert 30 < hits.count("api-errors") < 90


def test_faults_are_recorded_on_spans_and_reproducible(run: Run) -> None:
    faults = "api-errors:0.2+rate-limits:0.1+malformed:0.1+stale-reads:0.3+conflicting-sources:1"
    first = run("agentslo.agents.opsdesk:robust", "recall-3,restock-2", faults=faults)
    again = run("agentslo.agents.opsdesk:robust", "recall-3,restock-2", faults=faults)
    assert all(r.passed for r in first), [r.outcome.evidence for r in first]
    injected = [r.run.attributes["faults_injected"] for r in first]
    assert injected == [r.run.attributes["faults_injected"] for r in again]
    kinds = {s.attributes.get("fault") for r in first for s in r.spans} - {None}
    assert kinds == {"api-errors", "rate-limits", "malformed", "stale-reads", "conflicting-sources"}
    limited = next(s for r in first for s in r.spans if s.attributes.get("fault") == "rate-limits")
    assert limited.error_type == "rate_limited" and limited.attributes["retryable"]
    assert all(r.run.attributes["fault_profile"] == faults for r in first)


def test_ambiguous_instruction_needs_ask_user(run: Run) -> None:
    asked = run("agentslo.agents.opsdesk:robust", "triage-3,rollback-2", faults="ambiguous")
    assert all(r.passed and r.run.attributes["asked_user"] == 1 for r in asked)
    guessed = run("agentslo.agents.opsdesk:brittle", "triage-3,rollback-2", faults="ambiguous")
    assert all(not r.passed and r.run.attributes["asked_user"] == 0 for r in guessed)
    # with a clean profile there is nothing to ask, and the instruction is complete
    (clean,) = run("agentslo.agents.opsdesk:robust", "triage-3")
    assert clean.passed and clean.run.attributes["asked_user"] == 0


def test_mid_run_change_is_recorded_and_verified_against_final_state(run: Run) -> None:
    robust = run(
        "agentslo.agents.opsdesk:robust", "refund-damage-3,recall-2", faults="mid-run-change"
    )
    brittle = run(
        "agentslo.agents.opsdesk:brittle", "refund-damage-3,recall-2", faults="mid-run-change"
    )
    for r in robust + brittle:
        (event,) = r.run.attributes["events"]
        assert event["name"] == "mid-run-change" and 2 <= event["call"] <= 6
    assert all(r.passed for r in robust)
    assert not all(r.passed for r in brittle)
