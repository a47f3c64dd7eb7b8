"""The audit of imported benchmark results: tasks a do-nothing agent passes.

The synthetic file below is checked by hand (see the comments on each record);
the real task list of tau-bench's airline test split reproduces the published
do-nothing score; bad records are reported with their index and the good ones
still counted; a toy rule shows another benchmark plugs in with one registration.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentslo.audit import (
    AuditInputError,
    DomainTools,
    GoldAction,
    GoldTask,
    ImportedRecord,
    ImportedRule,
    RecordError,
    audit_imported,
    imported_findings,
    register_rule,
    registered_benchmarks,
    unregister_rule,
)
from agentslo.cli.app import app
from agentslo.cli.audit_imported import IMPORTED_BENCHMARKS, imported_benchmarks, run_imported
from agentslo.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURE = DATA / "ingest" / "gpt-4o-airline.json"
AIRLINE_GOLD = DATA / "audit" / "tau-bench-airline-test-gold.json"


def act(name: str, **kwargs: Any) -> dict[str, Any]:
    return {"name": name, "kwargs": kwargs}


def _traj(called: Sequence[str]) -> list[dict[str, Any]]:
    """An OpenAI-format chat in which the agent calls ``called`` in order."""
    traj: list[dict[str, Any]] = [
        {"role": "system", "content": "# Agent Policy\nYou are a customer service agent."},
        {"role": "user", "content": "Hi, I need some help with my account."},
    ]
    for i, name in enumerate(called):
        call = {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": name, "arguments": "{}"},
        }
        traj.append({"role": "assistant", "content": None, "tool_calls": [call]})
        traj.append({"role": "tool", "tool_call_id": f"call_{i}", "name": name, "content": "{}"})
    traj.append({"role": "assistant", "content": "Is there anything else I can help with?"})
    return traj


def _names(actions: list[Any]) -> list[str]:
    """The tool names of well-formed gold actions (the agent calls them)."""
    return [a["name"] for a in actions if isinstance(a, dict) and isinstance(a.get("name"), str)]


def record(
    task_id: int,
    actions: list[Any],
    *,
    outputs: Sequence[str] = (),
    reward: float = 1.0,
    trial: int = 0,
    called: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A tau-bench ``EnvRunResult`` in the shape run.py writes."""
    if outputs:
        check: dict[str, Any] = {
            "r_outputs": reward,
            "outputs": dict.fromkeys(outputs, reward == 1),
        }
    else:
        check = {"r_actions": reward == 1, "gt_data_hash": "9f" * 32}
    return {
        "task_id": task_id,
        "trial": trial,
        "reward": reward,
        "info": {
            "task": {
                "user_id": "sofia_kim_7287",
                "actions": actions,
                "instruction": "You are sofia_kim_7287 and you want help with a booking.",
                "outputs": list(outputs),
            },
            "source": "user",
            "user_cost": 0.0021,
            "reward_info": {"reward": reward, "info": check, "actions": actions},
        },
        "traj": _traj(_names(actions) if called is None else called),
    }


LOOKUP_AND_TRANSFER = [
    act("get_reservation_details", reservation_id="PEP4E0"),
    act("transfer_to_human_agents", summary="The user wants a full refund."),
]
FIND_BY_ZIP = act("find_user_id_by_name_zip", first_name="Yusuf", last_name="Rossi", zip="19122")
RETURN_ITEMS = act(
    "return_delivered_order_items", order_id="#W2378156", item_ids=["4602305039"],
    payment_method_id="credit_card_9513926",
)  # fmt: skip

# Both domains in one file; each comment says what a do-nothing agent gets and why.
SYNTHETIC = [
    # 0 airline task 0: a look-up and a transfer -> passable; a success
    record(0, LOOKUP_AND_TRANSFER),
    # 1 airline task 0 again (trial 1): the same gold; a failure
    record(0, LOOKUP_AND_TRANSFER, trial=1, reward=0.0),
    # 2 airline task 1: cancels -> not passable; a success
    record(
        1, [act("get_user_details", user_id="u"), act("cancel_reservation", reservation_id="Z")]
    ),
    # 3 airline task 2: no gold action, no output -> passable; a success (the domain is
    #   told by the agent's flight search: get_user_details belongs to both domains)
    record(2, [], called=["get_user_details", "search_direct_flight"]),
    # 4 airline task 3: reads only but must state "4" -> not passable; a failure (the
    #   agent's reservation look-up tells the domain)
    record(
        3,
        [act("get_user_details", user_id="u")],
        outputs=["4"],
        reward=0.0,
        called=["get_user_details", "get_reservation_details"],
    ),
    # 5 retail task 0 (same id as airline task 0, another task): reads -> passable; a success
    record(0, [act("find_user_id_by_email", email="a@b.c"), act("get_order_details")]),
    # 6 retail task 1: returns items -> not passable; a success
    record(1, [FIND_BY_ZIP, RETURN_ITEMS]),
    # 7 retail task 2: reads, but must state "12" -> not passable; a success
    record(2, [FIND_BY_ZIP, act("list_all_product_types")], outputs=["12"]),
    # 8 retail task 3: changes the address -> not passable; reward 1 - 5e-7 is a success
    record(3, [FIND_BY_ZIP, act("modify_user_address", user_id="m")], reward=0.9999995),
    # 9 retail task 4: reads only -> passable; reward 0.99 is not a success
    record(4, [act("get_product_details", product_id="6086499569")], reward=0.99),
    # 10 task 5: only `think`, a tool of both domains, in a file of both -> the domain is
    #    unknown and its success cannot be attributed
    record(5, [act("think", thought="...")]),
]


def _write(path: Path, records: Any) -> Path:
    path.write_text(json.dumps(records))
    return path


def test_synthetic_file_by_hand(tmp_path: Path) -> None:
    audit = audit_imported("tau-bench", _write(tmp_path / "results.json", SYNTHETIC))
    passable = {(t.domain, t.task_id) for t in audit.passable}
    assert passable == {("airline", "0"), ("airline", "2"), ("retail", "0"), ("retail", "4")}
    assert len(audit.tasks) == 9 and audit.task_share == pytest.approx(4 / 9)
    # successes: records 0, 2, 3, 5, 6, 7, 8, 10; on passable tasks: 0, 3, 5
    assert audit.successes == 8 and audit.passable_successes == 3
    assert audit.success_share == pytest.approx(3 / 8)
    assert audit.unclassified_successes == 1
    by_key = {(t.domain, t.task_id): t for t in audit.tasks}
    assert by_key["airline", "0"].records == (0, 1) and by_key["airline", "0"].successes == 1
    assert by_key["airline", "1"].writes == ("cancel_reservation",)
    assert by_key["airline", "3"].why == "requires outputs ('4')"
    assert by_key["retail", "3"].successes == 1 and by_key["retail", "4"].successes == 0
    assert by_key["airline", "2"].why.startswith("it has no gold actions")
    assert by_key["retail", "4"].why == (
        "its gold actions only read and it requires no output: the untouched state is the "
        "gold state"
    )
    assert audit.by_domain == {"airline": (2, 4), "retail": (2, 5)}
    [lost] = audit.unclassified
    assert (lost.task_id, lost.domain, lost.records, lost.successes) == ("5", None, (10,), 1)
    [problem] = audit.problems
    assert problem.index == 10 and problem.kind == "domain"
    assert problem.message.startswith(f"{tmp_path / 'results.json'}: record 10: cannot tell")
    assert "mixes domains (airline, retail)" in problem.message
    assert "pass --domain airline or retail" in problem.message


def test_published_airline_figure_from_the_real_task_list(tmp_path: Path) -> None:
    """Every airline test task, graded as a do-nothing agent would be (reward 1 exactly
    where the rule says it passes): 19 of 50, the 38% of the published checklist."""
    gold = json.loads(AIRLINE_GOLD.read_text())["tasks"]
    writes = {
        "book_reservation",
        "cancel_reservation",
        "update_reservation_baggages",
        "update_reservation_flights",
        "update_reservation_passengers",
        "send_certificate",
    }
    records = [
        record(
            t["task_id"],
            [act(name) for name in t["actions"]],
            outputs=t["outputs"],
            reward=0.0 if t["outputs"] or writes & set(t["actions"]) else 1.0,
            called=[],
        )
        for t in gold
    ]
    path = _write(tmp_path / "do-nothing-airline.json", records)
    audit = audit_imported("tau-bench", path)
    ids = [int(t.task_id) for t in audit.passable]
    assert ids == [12, 13, 15, 17, 18, 21, 24, 29, 35, 36, 37, 38, 39, 40, 41, 42, 47, 48, 49]
    assert audit.task_share == pytest.approx(0.38) and audit.success_share == 1.0
    assert {t.domain for t in audit.tasks} == {"airline"} and not audit.problems
    # A later revision of the task list gives task 29 a cancellation: 18 of 50.
    records[29]["info"]["task"]["actions"].append(act("cancel_reservation"))
    revised = audit_imported("tau-bench", _write(tmp_path / "revised-airline.json", records))
    assert len(revised.passable) == 18 and revised.task_share == pytest.approx(0.36)


def test_shipped_fixture(tmp_path: Path) -> None:
    audit = audit_imported("tau-bench", FIXTURE, display="gpt-4o-airline.json")
    assert [(t.task_id, t.passable) for t in audit.tasks] == [("0", False), ("1", False)]
    assert audit.tasks[0].why == "changes the state (book_reservation)"
    assert audit.tasks[0].records == (0, 1) and audit.tasks[1].why == "requires outputs ('3')"
    assert audit.successes == 2 and audit.passable_successes == 0 and audit.task_share == 0.0
    [harness_failed] = audit.unclassified
    assert harness_failed.task_id == "2" and harness_failed.domain == "airline"
    [problem] = audit.problems
    assert problem.kind == "no_gold" and problem.message == (
        "gpt-4o-airline.json: record 3: no gold task: 'info.task' is missing (the harness "
        "failed: 'litellm.RateLimitError: rate limit exceeded'); task cannot be classified"
    )
    assert (
        run_imported("tau-bench", FIXTURE, domain=None, as_json=False, db=None, project="default")
        == 0
    )


def test_domain_from_file_name_override_and_unknown(tmp_path: Path) -> None:
    shared_only = [record(0, [act("get_user_details", user_id="u")], called=["think"])]
    named = audit_imported("tau-bench", _write(tmp_path / "claude-retail.json", shared_only))
    assert named.tasks[0].domain == "retail" and named.tasks[0].passable
    anonymous = audit_imported("tau-bench", _write(tmp_path / "results.json", shared_only))
    assert not anonymous.tasks and anonymous.problems[0].kind == "domain"
    assert "file name names none; pass --domain airline or retail" in anonymous.problems[0].message
    forced = audit_imported("tau-bench", tmp_path / "results.json", domain="airline")
    assert forced.tasks[0].domain == "airline" and forced.domain == "airline"
    with pytest.raises(
        AuditInputError, match="no domain 'telecom'; known domains: airline, retail"
    ):
        audit_imported("tau-bench", tmp_path / "results.json", domain="telecom")
    told = record(0, [act("get_user_details", user_id="u")])
    told["info"]["domain"] = "telecom"
    fork = audit_imported("tau-bench", _write(tmp_path / "fork.json", [told]))
    assert "names domain 'telecom', which the tau-bench rule does not cover" in (
        fork.problems[0].message
    )
    legacy = record(0, [act("get_user_details", user_id="u")], called=[])
    legacy["traj"].insert(2, {"role": "assistant", "function_call": {"name": "get_order_details"}})
    old_format = audit_imported("tau-bench", _write(tmp_path / "old.json", [legacy]))
    assert old_format.tasks[0].domain == "retail"
    both = record(0, [act("book_reservation"), act("cancel_pending_order")])
    mixed = audit_imported("tau-bench", _write(tmp_path / "mixed.json", [both]))
    assert "several domains (airline: book_reservation; retail: cancel_pending_order)" in (
        mixed.problems[0].message
    )


BAD_RECORDS: list[Any] = [
    "not a record",
    {"reward": 1.0, "info": {}, "traj": []},
    {"task_id": "abc", "reward": 1.0, "traj": []},
    {"task_id": 3, "reward": 1.5, "traj": []},
    {"task_id": 4, "reward": 0.0, "info": {"error": "Timeout", "traceback": "..."}, "traj": []},
    record(5, [act("get_user_details")]) | {"info": {"task": {"actions": "x", "outputs": []}}},
    record(6, [act("get_reservation_details"), 5]),
    record(7, [{"name": 7, "kwargs": {}}]),
    record(8, [{"name": "cancel_reservation", "kwargs": ["Z7GOZK"]}]),
    record(9, [act("get_reservation_details")]) | {"info": {"task": {"actions": []}}},
    record(10, [act("get_reservation_details")], outputs=[3]),
    record(11, [act("get_reservation_details"), act("sort_flights")]),
    record(12, [act("get_reservation_details")]),
    record(12, [act("cancel_reservation", reservation_id="X")], trial=1),
    record(13, [act("get_user_details"), act("search_onestop_flight")]),
]


def test_bad_records_are_reported_and_good_ones_kept(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad-airline.json", BAD_RECORDS)
    audit = audit_imported("tau-bench", path, display="bad-airline.json")
    messages = {p.index: (p.kind, p.message.removeprefix(f"bad-airline.json: record {p.index}: "))
                for p in audit.problems}  # fmt: skip
    assert messages == {
        0: ("unreadable", "expected a JSON object (one EnvRunResult), got 'not a record'"),
        1: ("unreadable", "field 'task_id': required, but missing"),
        2: ("unreadable", "field 'task_id': expected an integer, got 'abc'"),
        3: ("unreadable", "field 'reward': expected a number between 0 and 1, got 1.5"),
        4: (
            "no_gold",
            "no gold task: 'info.task' is missing (the harness failed: 'Timeout'); "
            "task cannot be classified",
        ),
        5: (
            "no_gold",
            "field 'info.task.actions': expected a JSON array of {name, kwargs}, got 'x'; "
            "task cannot be classified",
        ),
        6: (
            "no_gold",
            "field 'info.task.actions[1]': expected a JSON object {name, kwargs}, got 5; "
            "task cannot be classified",
        ),
        7: (
            "no_gold",
            "field 'info.task.actions[0].name': expected a tool name (a non-empty string), "
            "got 7; task cannot be classified",
        ),
        8: (
            "no_gold",
            "field 'info.task.actions[0].kwargs': expected a JSON object of arguments, got "
            "['Z7GOZK']; task cannot be classified",
        ),
        9: (
            "no_gold",
            "field 'info.task.outputs': required, but missing; task cannot be classified",
        ),
        10: (
            "no_gold",
            "field 'info.task.outputs[0]': expected a string, got 3; task cannot be classified",
        ),
        11: (
            "unknown_tool",
            "gold action 1 'sort_flights' is not a known airline tool, so whether it changes "
            "the state is unknown; add it to the rule's tools",
        ),
        13: (
            "conflicting_gold",
            messages[13][1],
        ),
    }
    assert messages[13][1].startswith("its gold task for task 12 differs from record 12's")
    assert messages[13][1].endswith("so this record is left out")
    # The good records still count: task 12 (reads only) and task 13 (reads only).
    assert [(t.task_id, t.passable, t.records) for t in audit.tasks] == [
        ("12", True, (12,)),
        ("13", True, (14,)),
    ]
    assert audit.records == 15 and audit.records_read == 11
    assert audit.problem_counts == {
        "unreadable": 4,
        "no_gold": 7,
        "unknown_tool": 1,
        "conflicting_gold": 1,
    }
    assert {t.task_id for t in audit.unclassified} == {"4", "5", "6", "7", "8", "9", "10", "11"}
    # readable successes: records 5-14 have reward 1 (10), record 4 has 0; two on passable tasks
    assert audit.successes == 10 and audit.passable_successes == 2


def test_gold_inherited_by_a_trial_without_it(tmp_path: Path) -> None:
    failed = {"task_id": 0, "trial": 1, "reward": 0.0, "info": {"error": "Timeout"}, "traj": []}
    records = [record(0, [act("get_reservation_details")]), failed]
    audit = audit_imported("tau-bench", _write(tmp_path / "airline.json", records))
    assert audit.tasks[0].records == (0, 1) and audit.tasks[0].passable
    assert audit.problems[0].kind == "no_gold"
    assert audit.problems[0].message.endswith("counted with task 0 as graded by record 0's gold")


def test_a_file_concatenated_with_itself_counts_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "twice.json", SYNTHETIC + SYNTHETIC)
    twice = audit_imported("tau-bench", path, display="twice.json")
    once = audit_imported("tau-bench", _write(tmp_path / "once.json", SYNTHETIC))
    assert twice.tasks == once.tasks and twice.successes == once.successes == 8
    assert twice.records == 22 and twice.records_read == 11
    duplicates = [p for p in twice.problems if p.kind == "duplicate"]
    assert [p.index for p in duplicates] == list(range(11, 22))
    assert duplicates[0].message == (
        "twice.json: record 11: task 0 trial 0 again (first in record 0); this copy is left out"
    )
    untrialled = [{k: v for k, v in r.items() if k != "trial"} for r in SYNTHETIC[:2]]
    kept = audit_imported("tau-bench", _write(tmp_path / "airline.json", untrialled))
    assert kept.tasks[0].records == (0, 1) and not kept.problems
    assert run_imported("tau-bench", path, domain=None, as_json=False, db=None, project="p") == 1
    assert "record problems: 1 of unknown domain, 11 repeated" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{", "not valid JSON (line 1, column 3"),
        ('{"task_id": 0}', "expected a JSON list of tau-bench records, got a JSON dict"),
    ],
)
def test_unusable_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(AuditInputError, match=message.replace("(", r"\(")):
        audit_imported("tau-bench", path)
    with pytest.raises(AuditInputError, match="no such file"):
        audit_imported("tau-bench", tmp_path / "missing.json")
    with pytest.raises(AuditInputError, match="no audit rule for imported benchmark 'swe-bench'"):
        audit_imported("swe-bench", path)


def test_findings_have_stable_ids_and_replace_in_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "results.json", SYNTHETIC)
    audit = audit_imported("tau-bench", path)
    findings = imported_findings(audit, project="team-a")
    again = imported_findings(audit_imported("tau-bench", path), project="team-a")
    assert [f.finding_id for f in findings] == [f.finding_id for f in again]
    assert len({f.finding_id for f in findings}) == 4
    other_project = imported_findings(audit, project="team-b")
    assert not {f.finding_id for f in findings} & {f.finding_id for f in other_project}
    evidence = {f.finding_id: f.evidence for f in findings}
    assert all(isinstance(e, dict) for e in evidence.values())
    by_task = {
        (e["domain"], e["task_id"]): f for f in findings if isinstance(e := f.evidence, dict)
    }
    assert (
        by_task["retail", "4"].severity == "medium" and by_task["airline", "0"].severity == "high"
    )
    first = by_task["airline", "0"]
    assert (first.detector, first.mode, first.project, first.run_id) == (
        "audit",
        "do_nothing_passable",
        "team-a",
        None,
    )
    assert first.evidence == {
        "benchmark": "tau-bench",
        "file": "results.json",
        "task_id": "0",
        "domain": "airline",
        "why": (
            "its gold actions only read and it requires no output: the untouched state is the "
            "gold state"
        ),
        "class": "V6",
        "gold_actions": ["get_reservation_details", "transfer_to_human_agents"],
        "records": 2,
        "successes": 1,
        "fingerprint": audit.tasks[0].fingerprint,
    }
    db = tmp_path / "audit.duckdb"
    for _ in range(2):
        code = run_imported("tau-bench", path, domain=None, as_json=True, db=db, project="team-a")
        assert code == 1
        payload = json.loads(capsys.readouterr().out)
        assert payload["findings"] == {"written": 4, "store": str(db), "project": "team-a"}
    with open_store(db, read_only=True) as store:
        assert store.count("findings") == 4
    listed = CliRunner().invoke(app, ["findings", "--db", str(db), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert {row["mode"] for row in rows} == {"do_nothing_passable"}
    assert {row["evidence"]["task_id"] for row in rows} == {"0", "2", "4"}


def test_run_imported_table_json_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path / "results.json", SYNTHETIC)
    assert run_imported("tau-bench", path, domain=None, as_json=False, db=None, project="p") == 1
    shown = capsys.readouterr()
    assert "4 of 9 tasks (44.4%) passable by a do-nothing agent" in shown.out
    assert "reported successes: 8; on do-nothing-passable tasks: 3 (37.5%)" in shown.out
    assert "passable by domain: airline 2 of 4, retail 2 of 5" in shown.out
    assert "not classified: 1 task; 1 reported success not attributed to a classified task" in (
        shown.out
    )
    assert "record problems: 1 of unknown domain (the reasons are on stderr)" in shown.out
    assert "findings not stored: pass --db or set AGENTSLO_DB" in shown.out
    assert "domain: " in shown.err and "record 10: cannot tell the domain" in shown.err
    assert not list(tmp_path.glob("*.duckdb"))

    monkeypatch.setenv("AGENTSLO_DB", str(tmp_path / "env.duckdb"))
    assert run_imported("tau-bench", path, domain=None, as_json=True, db=None, project="p") == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["findings"]["written"] == 4 and payload["exit_code"] == 1
    assert set(payload) == {
        "benchmark", "file", "domain_override", "records", "records_read", "tasks",
        "passable_tasks", "task_share", "successes", "passable_successes", "success_share",
        "unclassified_successes", "by_domain", "passable", "verdicts", "unclassified",
        "problem_counts", "problems", "findings", "exit_code",
    }  # fmt: skip
    assert payload["passable_tasks"] == 4 and payload["success_share"] == 0.375
    assert payload["passable"][0] == {
        "task_id": "0",
        "domain": "airline",
        "passable": True,
        "why": payload["passable"][0]["why"],
        "gold_actions": ["get_reservation_details", "transfer_to_human_agents"],
        "state_changing_actions": [],
        "outputs": [],
        "records": 2,
        "successes": 1,
        "fingerprint": payload["passable"][0]["fingerprint"],
    }
    assert payload["problems"][0]["kind"] == "domain" and payload["problems"][0]["index"] == 10
    monkeypatch.delenv("AGENTSLO_DB")

    def code(*args: Any, **kwargs: Any) -> tuple[int, str]:
        result = run_imported(*args, **({"as_json": False, "db": None, "project": "p"} | kwargs))
        return result, capsys.readouterr().err

    assert code("tau-bench", tmp_path / "nope.json", domain=None) == (
        2,
        f"error: {tmp_path / 'nope.json'}: no such file; pass a tau-bench result file\n",
    )
    exit_code, err = code("webarena", path, domain=None)
    assert exit_code == 2 and "registered: tau-bench" in err
    exit_code, err = code("tau-bench", path, domain="telecom")
    assert exit_code == 2 and "known domains: airline, retail" in err
    no_gold = _write(tmp_path / "errors-airline.json", [BAD_RECORDS[4]])
    exit_code, err = code("tau-bench", no_gold, domain=None)
    assert exit_code == 2 and "no task could be classified" in err and "record 0" in err
    assert code("tau-bench", _write(tmp_path / "empty.json", []), domain=None) == (
        2,
        f"error: {tmp_path / 'empty.json'}: holds no records; nothing to audit\n",
    )
    clean = _write(tmp_path / "clean-airline.json", [record(0, [act("book_reservation")])])
    assert code("tau-bench", clean, domain=None)[0] == 0
    db = tmp_path / "p.duckdb"
    assert code("tau-bench", path, domain=None, project=" ") == (
        2,
        "error: --project: expected a project name, got an empty one\n",
    )
    exit_code, err = code("tau-bench", path, domain=None, db=db, project="x" * 513)
    assert exit_code == 2 and "field 'project': expected a string of at most 512" in err


# -- another benchmark: one registration ---------------------------------------------


def _load_jsonl(path: Path, display: str) -> list[Any]:
    lines = path.read_text().splitlines()
    try:
        return [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise AuditInputError(f"{display}: not JSON Lines ({exc.msg})") from exc


def _parse_toy(index: int, raw: Any) -> ImportedRecord:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise RecordError("expected an object with a string 'id'")
    gold = raw.get("gold")
    if not isinstance(gold, dict):
        return ImportedRecord(index, raw["id"], float(raw["score"]), gold_problem="no 'gold'")
    task = GoldTask(
        actions=tuple(GoldAction(name) for name in gold["calls"]),
        outputs=tuple(gold.get("answers", [])),
    )
    return ImportedRecord(index, raw["id"], float(raw["score"]), gold=task)


TOY = ImportedRule(
    name="toy-kitchen",
    summary="a toy benchmark graded on the kitchen's final state",
    domains=(DomainTools("kitchen", writes=frozenset({"cook"}), reads=frozenset({"look"})),),
    load=_load_jsonl,
    parse=_parse_toy,
)


@pytest.fixture
def toy_rule() -> Iterator[ImportedRule]:
    register_rule(TOY)
    yield TOY
    unregister_rule(TOY.name)


def test_a_toy_rule_plugs_in(
    tmp_path: Path, toy_rule: ImportedRule, capsys: pytest.CaptureFixture[str]
) -> None:
    assert registered_benchmarks() == ("tau-bench", "toy-kitchen") == imported_benchmarks()
    assert IMPORTED_BENCHMARKS == ("tau-bench",)
    lines = [
        {"id": "soup", "score": 1, "gold": {"calls": ["look", "cook"]}},
        {"id": "peek", "score": 1, "gold": {"calls": ["look"]}},
        {"id": "count", "score": 0, "gold": {"calls": ["look"], "answers": ["3"]}},
        {"id": "lost", "score": 1},
        {"score": 1},
    ]
    path = tmp_path / "kitchen.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    audit = audit_imported("toy-kitchen", path)
    assert [(t.task_id, t.passable) for t in audit.tasks] == [
        ("count", False),
        ("peek", True),
        ("soup", False),
    ]
    assert audit.successes == 3 and audit.success_share == pytest.approx(1 / 3)
    assert [(p.index, p.kind) for p in audit.problems] == [(3, "no_gold"), (4, "unreadable")]
    assert (
        run_imported("toy-kitchen", path, domain=None, as_json=False, db=None, project="default")
        == 1
    )
    assert "peek" in capsys.readouterr().out
    with pytest.raises(ValueError, match="already registered"):
        register_rule(ImportedRule("toy-kitchen", "", TOY.domains, _load_jsonl, _parse_toy))


def test_rule_tables_refuse_contradictions() -> None:
    with pytest.raises(ValueError, match="cook listed as both"):
        DomainTools("kitchen", writes=frozenset({"cook"}), reads=frozenset({"cook"}))
    with pytest.raises(ValueError, match="at least one domain"):
        ImportedRule("empty", "", (), _load_jsonl, _parse_toy)


def test_the_audit_command_routes_imported_results(tmp_path: Path) -> None:
    """``agentslo audit tau-bench FILE`` reaches the imported audit, with its options;
    the benchmark without a FILE, or --domain on a suite, is a usage error."""
    records = [
        record(0, [act("get_user_details")], reward=1.0, called=[]),
        record(1, [act("cancel_reservation")], reward=0.0, called=[]),
    ]
    path = _write(tmp_path / "airline.json", records)
    db = tmp_path / "audit.duckdb"
    runner = CliRunner()
    args = ["audit", "tau-bench", str(path), "--domain", "airline", "--project", "team-a"]
    result = runner.invoke(app, [*args, "--db", str(db), "--json"])
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert [t["task_id"] for t in body["passable"]] == ["0"]
    with open_store(db, read_only=True) as store:
        rows = store.con.execute("SELECT project, mode FROM findings").fetchall()
    assert rows == [("team-a", "do_nothing_passable")]
    missing = runner.invoke(app, ["audit", "tau-bench"])
    assert missing.exit_code == 2 and "needs the results file" in missing.output
    on_suite = runner.invoke(app, ["audit", "opsdesk", "--domain", "airline"])
    assert on_suite.exit_code == 2 and "--domain is for imported results" in on_suite.output
