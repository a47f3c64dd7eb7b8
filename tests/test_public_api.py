"""Lock the public surface: changing it must be a deliberate edit of this list."""

from __future__ import annotations

import agentslo
import agentslo.detect
import agentslo.gate
import agentslo.metrics
import agentslo.slo
import agentslo.stats
import agentslo.store


def test_top_level_surface() -> None:
    assert sorted(agentslo.__all__) == sorted(
        ["Finding", "Outcome", "Run", "Span", "Store", "__version__", "open_store"]
    )


def test_subpackage_surfaces_resolve() -> None:
    for module in (agentslo, agentslo.metrics, agentslo.slo, agentslo.stats, agentslo.store):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_trials_surfaces() -> None:
    import agentslo.agents
    import agentslo.trials

    assert sorted(agentslo.agents.__all__) == sorted(
        ["Handoff", "ToolCallError", "ToolClient", "TrialAborted"]
    )
    for module in (agentslo.agents, agentslo.trials):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
    assert "run_trials" in agentslo.trials.__all__ and "suite" in agentslo.trials.__all__


def test_gate_surface() -> None:
    assert sorted(agentslo.gate.__all__) == sorted(
        [
            "DEFAULT_MARGINS",
            "EXIT_CODES",
            "MIN_RUNS_FOR_SAFE",
            "ArmRuns",
            "GateOutcome",
            "GateResult",
            "GateSpec",
            "Metric",
            "MetricResult",
            "Selector",
            "evaluate_arms",
            "evaluate_gate",
            "evaluate_gates",
            "load_arms",
            "load_gates",
            "parse_margins",
            "parse_metric",
            "parse_selector",
            "prometheus_samples",
            "recorded_decisions",
        ]
    )
    for name in agentslo.gate.__all__:
        assert hasattr(agentslo.gate, name), f"agentslo.gate.{name}"


def test_detect_surface() -> None:
    assert sorted(agentslo.detect.__all__) == sorted(
        [
            "DETECTORS",
            "JUDGE_MODES",
            "RATE_MODES",
            "Attribution",
            "DetectSummary",
            "Detector",
            "JudgeConfig",
            "JudgeSummary",
            "Trace",
            "attribute",
            "finding_rates",
            "instruction_of",
            "judge_agreement",
            "label_agreement",
            "load_traces",
            "resolve",
            "run_detectors",
            "run_judge",
        ]
    )
    for name in agentslo.detect.__all__:
        assert hasattr(agentslo.detect, name), f"agentslo.detect.{name}"


def test_server_surface_resolves() -> None:
    import agentslo.server

    assert "create_app" in agentslo.server.__all__ and "ServerConfig" in agentslo.server.__all__
    for name in agentslo.server.__all__:
        assert hasattr(agentslo.server, name), f"agentslo.server.{name}"


def test_audit_surfaces() -> None:
    import agentslo.agents.exploits
    import agentslo.audit

    assert sorted(agentslo.audit.__all__) == sorted(
        [
            "BATTERY",
            "DETECTOR",
            "VULNERABILITY_CLASSES",
            "AuditConfig",
            "AuditReport",
            "CellResult",
            "Exploit",
            "ExploitResult",
            "ValidityCheck",
            "audit_findings",
            "exploit_named",
            "run_audit",
            "total_trials",
            "AuditInputError",
            "DomainTools",
            "GoldAction",
            "GoldTask",
            "ImportedAudit",
            "ImportedRecord",
            "ImportedRule",
            "RecordError",
            "RecordProblem",
            "TaskVerdict",
            "UnclassifiedTask",
            "audit_imported",
            "imported_findings",
            "imported_rule",
            "register_rule",
            "registered_benchmarks",
            "unregister_rule",
        ]
    )
    for module in (agentslo.audit, agentslo.agents.exploits):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
    battery = {e.agent.rpartition(":")[2] for e in agentslo.audit.BATTERY}
    assert battery <= set(agentslo.agents.exploits.__all__)
