"""Importers for other tools' result files (tau-bench), mapped onto agentslo records."""

from agentslo.ingest.importers.tau_bench import TauBenchOptions, read_tau_bench

__all__ = ["TauBenchOptions", "read_tau_bench"]
