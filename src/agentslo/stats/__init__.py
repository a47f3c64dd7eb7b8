"""Statistics as small pure functions, each with its formula and paper in the docstring.

Fixed-sample intervals (Wilson), pass^k, and the always-valid sequential tests the
regression gates use: betting confidence sequences for bounded means (exact), the
mixture SPRT for proportions, quantile confidence sequences, an asymptotic
confidence sequence for a ratio of sums, Bonferroni control across metrics, and
Cohen's kappa for agreement between two raters.
"""

from agentslo.stats.agreement import cohen_kappa, cohen_kappa_2x2
from agentslo.stats.asymptotic import asymptotic_halfwidth, horizon_rho2, projected_runs
from agentslo.stats.betting import (
    DEFAULT_BET_SCALE,
    BettingCS,
    Pairing,
    bet_grid,
    betting_cs,
    pair_arms,
    sign_test_boundary,
    sign_test_log_evidence,
    update_betting_cs,
)
from agentslo.stats.intervals import wilson_interval
from agentslo.stats.msprt import (
    MSPRTState,
    msprt_log_lr,
    msprt_mixing_variance,
    msprt_state,
    update_msprt,
)
from agentslo.stats.multiplicity import bonferroni_alpha
from agentslo.stats.passk import pass_at_k, pass_hat_k
from agentslo.stats.quantiles import bernoulli_boundary, quantile_cs, quantile_ratio_cs
from agentslo.stats.ratio import RatioSums, ratio_of_ratios_cs, update_ratio_sums

__all__ = [
    "DEFAULT_BET_SCALE",
    "BettingCS",
    "MSPRTState",
    "Pairing",
    "RatioSums",
    "asymptotic_halfwidth",
    "bernoulli_boundary",
    "bet_grid",
    "betting_cs",
    "bonferroni_alpha",
    "cohen_kappa",
    "cohen_kappa_2x2",
    "horizon_rho2",
    "msprt_log_lr",
    "msprt_mixing_variance",
    "msprt_state",
    "pair_arms",
    "pass_at_k",
    "pass_hat_k",
    "projected_runs",
    "quantile_cs",
    "quantile_ratio_cs",
    "ratio_of_ratios_cs",
    "sign_test_boundary",
    "sign_test_log_evidence",
    "update_betting_cs",
    "update_msprt",
    "update_ratio_sums",
    "wilson_interval",
]
