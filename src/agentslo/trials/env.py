"""Simulated environments: stateful worlds reachable only through typed tools.

An environment subclass declares its tools as methods decorated with :func:`tool`.
Each tool's arguments become a pydantic model (from the signature, with
``Annotated[..., Field(description=...)]`` for documentation), which gives the
agent a JSON schema and gives the harness validation: arguments that violate the
schema come back to the agent as a recoverable ``invalid_arguments`` error.

State lives in ``self.state`` (plain JSON-like dicts and lists) so that stale
reads can be served from an earlier copy and the verifier can read the final
state directly. Reads stamp their result with the write sequence number they
reflect (``as_of``), like a consistency token of a real API.
"""

from __future__ import annotations

import inspect
import marshal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

__all__ = ["Environment", "Tool", "ToolError", "ToolReply", "copy_state", "tool"]

F = TypeVar("F", bound=Callable[..., Any])


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON-like state (plain dicts, lists, strings, numbers).

    ``marshal`` round-trips such data several times faster than ``copy.deepcopy``;
    the state is the harness's own data, never bytes from an agent.
    """
    copied: dict[str, Any] = marshal.loads(marshal.dumps(state))
    return copied


class ToolError(Exception):
    """The environment refused a call (a business rule); the agent may recover."""

    def __init__(self, message: str, *, type: str = "rejected", retryable: bool = False) -> None:
        super().__init__(message)
        self.type = type
        self.retryable = retryable


@dataclass(frozen=True)
class Tool:
    """One tool: its name, what it does, its argument model, and whether it writes."""

    name: str
    description: str
    args_model: type[BaseModel]
    method: Callable[..., Any]
    writes: bool

    def spec(self) -> dict[str, Any]:
        """The JSON description an agent sees (OpenAI function-tool shaped)."""
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        return {"name": self.name, "description": self.description, "parameters": schema}


@dataclass(frozen=True)
class ToolReply:
    """What a dispatched call produced: a result or an error, plus the state's seq."""

    ok: bool
    result: Any = None
    error_type: str | None = None
    message: str | None = None
    retryable: bool = False
    retry_after: float | None = None


def tool(*, writes: bool = False) -> Callable[[F], F]:
    """Mark an environment method as a tool (``writes=True`` if it changes state)."""

    def mark(method: F) -> F:
        method.__agentslo_tool__ = writes  # type: ignore[attr-defined]
        return method

    return mark


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _args_model(name: str, method: Callable[..., Any]) -> type[BaseModel]:
    hints = get_type_hints(method, include_extras=True)
    fields: dict[str, Any] = {}
    for param in list(inspect.signature(method).parameters.values())[1:]:
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hints[param.name], default)
    return create_model(f"{name}_args", __base__=_Args, **fields)


class Environment:
    """Base class of simulated worlds; subclasses define tools and initial state."""

    _tools: ClassVar[dict[str, Tool]] = {}
    _specs_cache: ClassVar[list[dict[str, Any]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tools: dict[str, Tool] = {}
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                writes = getattr(member, "__agentslo_tool__", None)
                if writes is None:
                    continue
                doc = inspect.getdoc(member) or name
                tools[name] = Tool(name, doc, _args_model(name, member), member, bool(writes))
        cls._tools = tools

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.initial = copy_state(state)
        self.seq = 0
        self._before_last_write: dict[str, Any] | None = None
        self.clarification: str | None = None
        self.asked_user = 0
        #: Hand-offs the harness observed on the channel (team variants check them).
        self.handoffs: list[dict[str, Any]] = []

    # -- the tool surface ----------------------------------------------------------
    @classmethod
    def tools(cls) -> dict[str, Tool]:
        return cls._tools

    @classmethod
    def specs(cls) -> list[dict[str, Any]]:
        """Every tool's JSON description (computed once per class)."""
        cached = cls.__dict__.get("_specs_cache")
        if cached is None:
            cached = [t.spec() for t in cls._tools.values()]
            cls._specs_cache = cached
        return list(cached)

    def dispatch(self, name: str, args: Any, *, stale: bool = False) -> ToolReply:
        """Validate ``args`` and run tool ``name``; every failure is a ToolReply error."""
        found = self._tools.get(name)
        if found is None:
            return ToolReply(
                False,
                error_type="unknown_tool",
                message=f"no tool {name!r}; tools: {', '.join(sorted(self._tools))}",
            )
        if not isinstance(args, dict):
            return ToolReply(False, error_type="invalid_arguments", message="args must be object")
        try:
            parsed = found.args_model.model_validate(args)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(args)'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            return ToolReply(False, error_type="invalid_arguments", message=detail)
        kwargs = {field: getattr(parsed, field) for field in type(parsed).model_fields}
        live = self.state
        if found.writes:
            snapshot = copy_state(self.state)
        elif stale and self._before_last_write is not None:
            self.state = self._before_last_write
        try:
            result = found.method(self, **kwargs)
        except ToolError as exc:
            return ToolReply(False, error_type=exc.type, message=str(exc), retryable=exc.retryable)
        finally:
            self.state = live
        if found.writes:
            self._before_last_write = snapshot
            self.seq += 1
        return ToolReply(True, result=result)

    # -- generic tools every environment has --------------------------------------
    @tool()
    def ask_user(self, question: str) -> str:
        """Ask the user who gave the instruction a clarifying question."""
        self.asked_user += 1
        if self.clarification:
            return self.clarification
        return "I have nothing to add; the instruction says everything I know."

    # -- hooks a suite may override ----------------------------------------------------
    def perturb(self, kind: str, name: str, result: Any, rng: Any) -> Any:
        """Return ``result`` as a secondary source that disagrees (``conflicting-sources``).

        The default has no secondary sources and returns ``result`` unchanged.
        """
        return result
