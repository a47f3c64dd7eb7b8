"""agentslo: measure AI agents the way SREs measure services.

Outcome-verified success SLOs on real traffic, percentiles instead of means, cost
per *verified* successful task, and the gap between what agents claim and what was
verified. The public surface is re-exported here and locked by a test.

The names are resolved on first use, so that a process needing one subpackage (an
agent process of the trials harness, ``agentslo --help``) does not import the store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentslo.model import Finding, Outcome, Run, Span
    from agentslo.store import Store, open_store

__all__ = ["Finding", "Outcome", "Run", "Span", "Store", "__version__", "open_store"]

__version__ = "0.1.0"

_LAZY = {
    "Finding": "agentslo.model",
    "Outcome": "agentslo.model",
    "Run": "agentslo.model",
    "Span": "agentslo.model",
    "Store": "agentslo.store",
    "open_store": "agentslo.store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agentslo' has no attribute {name!r}")
