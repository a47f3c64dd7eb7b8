"""pass^k and pass@k: hand-checked cases and tau-bench's published gpt-4o airline row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from agentslo.metrics import fleet_report
from agentslo.model import Outcome, Run
from agentslo.stats import pass_at_k, pass_hat_k
from agentslo.store import Store

T0 = datetime(2026, 11, 1)


def _trials(counts: dict[str, tuple[int, int]], agent: str = "a") -> list[Any]:
    """Runs for tasks with (n trials, c successes) each; successes come first."""
    records: list[Any] = []
    for task, (n, c) in counts.items():
        for trial in range(n):
            rid = f"{agent}-{task}-{trial}"
            records.append(
                Run(
                    run_id=rid,
                    agent=agent,
                    task_id=task,
                    trial=trial,
                    environment="trial",
                    started_at=T0 + timedelta(seconds=trial),
                )
            )
            label = "success" if trial < c else "failure"
            records.append(Outcome(run_id=rid, label=label, source="verified"))
    return records


def test_pass_hat_k_hand_checked() -> None:
    assert pass_hat_k(4, 4, 4) == 1.0
    assert pass_hat_k(4, 3, 4) == 0.0
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)  # C(2,2)/C(4,2)
    assert pass_hat_k(5, 3, 2) == pytest.approx(3 / 10)  # C(3,2)/C(5,2)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(4, 0, 4) == 0.0
    with pytest.raises(ValueError, match="need 0 <= c <= n"):
        pass_hat_k(3, 4, 1)


def test_report_pass_k_on_a_small_case() -> None:
    # Task x: 3 of 4 succeed; task y: 1 of 4. pass^2 = (C(3,2)+C(1,2))/C(4,2)/2 = 3/12.
    with Store(":memory:") as store:
        store.write_records(_trials({"x": (4, 3), "y": (4, 1)}))
        g = fleet_report(store).overall
    assert g.pass_k_tasks == 2
    assert g.pass_k[1] == pytest.approx(0.5)
    assert g.pass_k[2] == pytest.approx(0.25)
    assert g.pass_k[3] == pytest.approx((1 / 4 + 0) / 2)
    assert g.pass_k[4] == 0.0
    assert g.pass_at_k[2] == pytest.approx(((1 - 0) + (1 - 3 / 6)) / 2)


def test_pass_k_stops_at_the_smallest_trial_count() -> None:
    with Store(":memory:") as store:
        store.write_records(_trials({"x": (5, 5), "y": (3, 3)}))
        g = fleet_report(store).overall
    assert list(g.pass_k) == [1, 2, 3]


def test_tau_bench_gpt4o_airline_row() -> None:
    """tau-bench README: gpt-4o on airline, pass^1..4 = 0.420, 0.273, 0.220, 0.200.

    50 tasks x 4 trials. With a_c tasks succeeding c times, pass^k = sum_c a_c
    C(c,k)/C(4,k) / 50, so pass^4 = a_4/50 gives a_4 = 10; pass^3 = (a_3/4 + a_4)/50
    gives a_3 = 4; pass^2 = (a_2/6 + a_3/2 + a_4)/50 = 0.273 gives a_2 = 10 (0.2733);
    pass^1 = (a_1/4 + a_2/2 + 3a_3/4 + a_4)/50 = 0.42 gives a_1 = 12; a_0 = 14.
    """
    tasks_by_successes = {0: 14, 1: 12, 2: 10, 3: 4, 4: 10}
    counts: dict[str, tuple[int, int]] = {}
    for c, how_many in tasks_by_successes.items():
        for j in range(how_many):
            counts[f"t{c}-{j}"] = (4, c)
    assert len(counts) == 50
    with Store(":memory:") as store:
        store.write_records(_trials(counts, agent="gpt-4o-airline"))
        g = fleet_report(store).overall
    assert [round(g.pass_k[k], 3) for k in (1, 2, 3, 4)] == [0.420, 0.273, 0.220, 0.200]
