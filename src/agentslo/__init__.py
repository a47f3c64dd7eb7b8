"""agentslo: measure AI agents the way SREs measure services.

Outcome-verified success SLOs on real traffic, percentiles instead of means, cost
per *verified* successful task, and the gap between what agents claim and what was
verified. The public surface is re-exported here and locked by a test.
"""

from agentslo.model import Finding, Outcome, Run, Span
from agentslo.store import Store, open_store

__all__ = ["Finding", "Outcome", "Run", "Span", "Store", "__version__", "open_store"]

__version__ = "0.1.0"
