"""The tau-bench rule: its result files, its records' gold tasks, its domains' tools.

tau-bench grades a trial by hashing the environment's database after the
conversation and comparing it with the hash after replaying the task's gold
``actions`` on a fresh database; when the task lists ``outputs``, each must also
appear in the agent's replies (``tau_bench/envs/base.py``, ``calculate_reward``).
A task whose gold actions only read (look-ups, ``calculate``, ``think``, a
transfer to a human) and that requires no output is therefore passed by an agent
that does nothing: the untouched database is the gold one.

The file is the JSON list ``run.py`` writes (read with the importer's loader,
:func:`agentslo.ingest.importers.tau_bench.load_results`); each record is an
``EnvRunResult`` ``{task_id, trial, reward, info, traj}`` whose ``info.task`` is
the task, ``{user_id, actions: [{name, kwargs}], instruction, outputs}``. Unlike
the importer, the audit does not need the trajectory: a record without one is
still audited (its tool calls just cannot help tell the domain).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from agentslo.audit.imported_rule import (
    AuditInputError,
    DomainTools,
    GoldAction,
    GoldTask,
    ImportedRecord,
    ImportedRule,
    RecordError,
)
from agentslo.ingest.errors import SourceError
from agentslo.ingest.importers.tau_bench import SUCCESS_TOLERANCE, default_suite, load_results
from agentslo.ingest.messages import describe_validation_error, field_problem, show

__all__ = ["AIRLINE", "RESPOND", "RETAIL", "TAU_BENCH"]

#: The pseudo-action of a message to the user; ``calculate_reward`` drops it.
RESPOND: Final = "respond"

#: ``tau_bench/envs/airline/tools``: the six tools that write the database.
AIRLINE: Final = DomainTools(
    name="airline",
    writes=frozenset(
        {
            "book_reservation",
            "cancel_reservation",
            "update_reservation_baggages",
            "update_reservation_flights",
            "update_reservation_passengers",
            "send_certificate",
        }
    ),
    reads=frozenset(
        {
            "calculate",
            "get_reservation_details",
            "get_user_details",
            "list_all_airports",
            "search_direct_flight",
            "search_onestop_flight",
            "think",
            "transfer_to_human_agents",
            RESPOND,
        }
    ),
)

#: ``tau_bench/envs/retail/tools``: the seven tools that write the database.
RETAIL: Final = DomainTools(
    name="retail",
    writes=frozenset(
        {
            "cancel_pending_order",
            "exchange_delivered_order_items",
            "modify_pending_order_address",
            "modify_pending_order_items",
            "modify_pending_order_payment",
            "modify_user_address",
            "return_delivered_order_items",
        }
    ),
    reads=frozenset(
        {
            "calculate",
            "find_user_id_by_email",
            "find_user_id_by_name_zip",
            "get_order_details",
            "get_product_details",
            "get_user_details",
            "list_all_product_types",
            "think",
            "transfer_to_human_agents",
            RESPOND,
        }
    ),
)

#: Keys of ``info`` that forks use to name the environment.
_DOMAIN_KEYS: Final = ("domain", "env")


class _Record(BaseModel):
    """The keys of an ``EnvRunResult`` the audit reads; forks add keys freely."""

    model_config = ConfigDict(extra="allow", frozen=True)

    task_id: int
    reward: float
    trial: NonNegativeInt | None = None
    info: dict[str, Any] = Field(default_factory=dict)
    traj: list[Any] | None = None


def _load(path: Path, display: str) -> Sequence[Any]:
    try:
        return load_results(path, display)
    except SourceError as exc:
        raise AuditInputError(str(exc)) from exc


def _domain_of_path(path: Path) -> str | None:
    """``gpt-4o-airline.json`` -> ``airline`` (the importer's reading of file names)."""
    suite = default_suite(path)
    return suite.removeprefix("tau-bench-") if suite != "tau-bench" else None


def _domain_hint(info: dict[str, Any]) -> str | None:
    for key in _DOMAIN_KEYS:
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return None


def _trajectory_tools(traj: list[Any] | None) -> Iterator[str]:
    """Tool names called in (or answered by) the OpenAI-format chat, skipping junk."""
    for message in traj or []:
        if not isinstance(message, dict):
            continue
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            name = function.get("name") if isinstance(function, dict) else None
            if isinstance(name, str) and name:
                yield name
        legacy = message.get("function_call")  # the pre-tool_calls OpenAI format
        if isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
            yield legacy["name"]
        if message.get("role") in ("tool", "function") and isinstance(message.get("name"), str):
            yield message["name"]


def _tools_seen(record: _Record) -> tuple[str, ...]:
    names = list(_trajectory_tools(record.traj))
    source = record.info.get("source")  # the last action's name, or "user"
    if isinstance(source, str) and source not in ("", "user"):
        names.append(source)
    return tuple(dict.fromkeys(names))


def _missing_task(info: dict[str, Any]) -> str:
    reason = "no gold task: 'info.task' is missing"
    error = info.get("error")
    if error:
        reason += f" (the harness failed: {show(str(error))})"
    return reason


def _action(where: str, raw: Any) -> GoldAction | str:
    """One gold action, or the problem with it."""
    if not isinstance(raw, dict):
        return field_problem(where, "a JSON object {name, kwargs}", raw)
    if "name" not in raw:
        return field_problem(f"{where}.name", "", missing=True)
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        return field_problem(f"{where}.name", "a tool name (a non-empty string)", name)
    kwargs = raw.get("kwargs", {})
    if not isinstance(kwargs, dict):
        return field_problem(f"{where}.kwargs", "a JSON object of arguments", kwargs)
    return GoldAction(name=name, kwargs=kwargs)


def _outputs(raw: Any) -> tuple[str, ...] | str:
    if not isinstance(raw, list):
        return field_problem("info.task.outputs", "a JSON array of strings", raw)
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            return field_problem(f"info.task.outputs[{i}]", "a string", item)
    return tuple(raw)


def _gold(info: dict[str, Any]) -> GoldTask | str:
    """The gold task of a record, or why there is none that can be used."""
    if "task" not in info:
        return _missing_task(info)
    task = info["task"]
    if not isinstance(task, dict):
        return field_problem("info.task", "a JSON object with 'actions' and 'outputs'", task)
    for key in ("actions", "outputs"):
        if key not in task:
            return field_problem(f"info.task.{key}", "", missing=True)
    if not isinstance(task["actions"], list):
        return field_problem("info.task.actions", "a JSON array of {name, kwargs}", task["actions"])
    actions: list[GoldAction] = []
    for i, raw in enumerate(task["actions"]):
        action = _action(f"info.task.actions[{i}]", raw)
        if isinstance(action, str):
            return action
        actions.append(action)
    outputs = _outputs(task["outputs"])
    if isinstance(outputs, str):
        return outputs
    return GoldTask(actions=tuple(actions), outputs=outputs)


def _reward_problem(reward: float) -> str | None:
    if -SUCCESS_TOLERANCE <= reward <= 1 + SUCCESS_TOLERANCE:
        return None
    return field_problem("reward", "a number between 0 and 1", reward)


def _parse(index: int, raw: Any) -> ImportedRecord:
    if not isinstance(raw, dict):
        raise RecordError(f"expected a JSON object (one EnvRunResult), got {show(raw)}")
    try:
        record = _Record.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(describe_validation_error(exc)) from exc
    problem = _reward_problem(record.reward)
    if problem is not None:
        raise RecordError(problem)
    gold = _gold(record.info)
    return ImportedRecord(
        index=index,
        task_id=str(record.task_id),
        reward=record.reward,
        trial=record.trial,
        domain_hint=_domain_hint(record.info),
        tools_seen=_tools_seen(record),
        gold=gold if isinstance(gold, GoldTask) else None,
        gold_problem=gold if isinstance(gold, str) else None,
    )


TAU_BENCH: Final = ImportedRule(
    name="tau-bench",
    summary="tau-bench results (run.py output, historical_trajectories/*.json)",
    domains=(AIRLINE, RETAIL),
    load=_load,
    parse=_parse,
    domain_of_path=_domain_of_path,
    success_tolerance=SUCCESS_TOLERANCE,
)
