"""Statistics as small pure functions, each with its formula and paper in the docstring."""

from agentslo.stats.intervals import wilson_interval
from agentslo.stats.passk import pass_at_k, pass_hat_k

__all__ = ["pass_at_k", "pass_hat_k", "wilson_interval"]
