"""The cast of the synthetic fleet: models with list prices, named agents, tools.

Everything here is static data. The named agents carry the stories the demo tells
(a regressed release, an over-claiming coding agent, a multi-agent pipeline with
hand-offs, a payments dependency that fails); agents beyond the named ones are
drawn at random from the generic vocabularies at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "CHANNELS",
    "ERROR_TYPES",
    "GENERIC_CHECKS",
    "GENERIC_TASKS",
    "GENERIC_TEAMS",
    "GENERIC_TOOLS",
    "INCIDENT_ERROR_TYPES",
    "MODELS",
    "NAMED_AGENTS",
    "SUB_AGENT_SETS",
    "Model",
    "NamedAgent",
    "Tool",
    "Version",
]


@dataclass(frozen=True)
class Model:
    """An LLM with list prices in USD per million tokens.

    ``output_factor`` scales output tokens: reasoning models emit hidden reasoning
    tokens that are billed as output, which is why a cheaper price can still cost more.
    """

    name: str
    input_per_mtok: float
    output_per_mtok: float
    output_factor: float = 1.0


MODELS: Final[tuple[Model, ...]] = (
    Model("gpt-4o", 2.50, 10.00),
    Model("gpt-4o-mini", 0.15, 0.60),
    Model("gpt-4.1", 2.00, 8.00),
    Model("gpt-4.1-mini", 0.40, 1.60),
    Model("o3-mini", 1.10, 4.40, output_factor=3.0),
    Model("claude-sonnet-4", 3.00, 15.00),
    Model("claude-3-5-haiku", 0.80, 4.00),
    Model("gemini-2.0-flash", 0.10, 0.40),
    Model("gemini-2.5-pro", 1.25, 10.00, output_factor=2.0),
)


@dataclass(frozen=True)
class Tool:
    """A tool an agent calls: relative call frequency and base error probability."""

    name: str
    weight: float
    error_rate: float


@dataclass(frozen=True)
class Version:
    """One release of an agent.

    ``start`` is when its rollout begins, as a fraction of the generated window
    (None for the first version, live from the start); the rollout ramps linearly to
    all traffic over ``ramp_hours``. ``success_shift`` is added to the probability
    of a verified success (the injected effect of the release); ``false_claim`` is
    the probability that the agent claims success on a run that in fact failed.
    """

    name: str
    model: str
    false_claim: float
    start: float | None = None
    ramp_hours: float = 12.0
    success_shift: float = 0.0
    latency_factor: float = 1.0
    latency_sigma_extra: float = 0.0
    token_factor: float = 1.0


@dataclass(frozen=True)
class NamedAgent:
    """An agent with a hand-written profile.

    Traffic ``weight`` is relative among named agents. ``steps`` is the mean number
    of LLM calls per run, ``context_tokens``/``output_tokens`` the median tokens per
    call, ``turn_seconds`` the median seconds per call, ``timeout_s`` the run deadline.
    ``multi_agent`` is the probability that a run passes through sub-agents (with at
    least ``min_handoffs`` hand-offs, each further one with ``extra_handoff``).
    Outcome coverage: the share of runs an environment check (``check``) verifies,
    with its median delay; the share a human reviews; the share an LLM judge scores.
    """

    name: str
    team: str
    weight: float
    base_success: float
    steps: float
    context_tokens: float
    output_tokens: float
    turn_seconds: float
    timeout_s: float
    tools: tuple[Tool, ...]
    versions: tuple[Version, ...]
    tasks: tuple[str, ...]
    check: str
    verified: float
    verify_delay_s: float
    human: float = 0.01
    judge: float = 0.0
    partial: float = 0.0
    multi_agent: float = 0.0
    min_handoffs: int = 0
    extra_handoff: float = 0.0
    sub_agents: tuple[str, str, str] = ("coordinator", "worker", "reviewer")


NAMED_AGENTS: Final[tuple[NamedAgent, ...]] = (
    NamedAgent(
        name="support-bot",
        team="customer-support",
        weight=0.30,
        base_success=0.71,
        steps=3.5,
        context_tokens=2200,
        output_tokens=220,
        turn_seconds=2.2,
        timeout_s=60,
        tools=(
            Tool("search_kb", 0.45, 0.02),
            Tool("lookup_order", 0.30, 0.03),
            Tool("create_ticket", 0.10, 0.02),
            Tool("send_reply", 0.15, 0.01),
        ),
        versions=(
            Version("v1", "gpt-4o-mini", false_claim=0.22),
            Version("v2", "gpt-4o-mini", false_claim=0.22, start=0.35, success_shift=0.03),
            # The injected regression: a new prompt on a new model. Verified success
            # drops by 15 points and latency grows, while the agent keeps claiming
            # success about as often as before, so a claimed-success dashboard is flat.
            Version(
                "v3",
                "gpt-4.1-mini",
                false_claim=0.50,
                start=0.70,
                success_shift=-0.12,
                latency_factor=1.25,
                latency_sigma_extra=0.10,
                token_factor=1.15,
            ),
        ),
        tasks=(
            "order-status",
            "refund-request",
            "password-reset",
            "shipping-delay",
            "account-closure",
            "product-question",
        ),
        check="ticket-resolution-check",
        verified=0.80,
        verify_delay_s=40 * 60,
        human=0.04,
        judge=0.35,
    ),
    NamedAgent(
        name="coding-agent",
        team="developer-productivity",
        weight=0.18,
        base_success=0.50,
        steps=8.0,
        context_tokens=9000,
        output_tokens=650,
        turn_seconds=6.0,
        timeout_s=900,
        tools=(
            Tool("read_file", 0.30, 0.01),
            Tool("edit_file", 0.25, 0.02),
            Tool("run_tests", 0.20, 0.04),
            Tool("grep", 0.15, 0.005),
            Tool("git_diff", 0.10, 0.005),
        ),
        versions=(
            Version("v1", "claude-sonnet-4", false_claim=0.45),
            Version("v2", "claude-sonnet-4", false_claim=0.40, start=0.45, success_shift=0.04),
        ),
        tasks=("fix-bug", "add-feature", "write-tests", "refactor", "bump-dependency"),
        check="ci-tests",
        verified=0.93,
        verify_delay_s=8 * 60,
        human=0.02,
        partial=0.35,
    ),
    NamedAgent(
        name="research-pipeline",
        team="research",
        weight=0.10,
        base_success=0.56,
        steps=6.0,
        context_tokens=6000,
        output_tokens=900,
        turn_seconds=5.0,
        timeout_s=900,
        tools=(
            Tool("web_search", 0.50, 0.03),
            Tool("fetch_page", 0.35, 0.06),
            Tool("cite_check", 0.15, 0.01),
        ),
        versions=(
            Version("v1", "gpt-4o", false_claim=0.30),
            Version("v2", "gpt-4.1", false_claim=0.30, start=0.50, success_shift=0.02),
        ),
        tasks=("market-brief", "competitor-scan", "literature-review", "due-diligence"),
        check="citation-check",
        verified=0.35,
        verify_delay_s=30 * 60,
        human=0.30,
        judge=0.85,
        multi_agent=1.0,
        min_handoffs=2,
        extra_handoff=0.25,
        sub_agents=("planner", "researcher", "writer"),
    ),
    NamedAgent(
        name="billing-assistant",
        team="finance-ops",
        weight=0.14,
        base_success=0.88,
        steps=3.0,
        context_tokens=1800,
        output_tokens=180,
        turn_seconds=1.8,
        timeout_s=60,
        tools=(
            Tool("lookup_invoice", 0.35, 0.01),
            Tool("payments_api", 0.35, 0.01),
            Tool("issue_refund", 0.15, 0.01),
            Tool("send_receipt", 0.15, 0.005),
        ),
        versions=(
            Version("v1", "gpt-4o-mini", false_claim=0.08),
            Version("v2", "gpt-4o-mini", false_claim=0.08, start=0.25, success_shift=0.01),
            Version("v3", "claude-3-5-haiku", false_claim=0.08, start=0.80),
        ),
        tasks=("invoice-copy", "refund", "payment-failure", "plan-change", "tax-question"),
        check="ledger-reconciliation",
        verified=0.97,
        verify_delay_s=40,
    ),
    NamedAgent(
        name="sql-analyst",
        team="data-platform",
        weight=0.12,
        base_success=0.63,
        steps=5.0,
        context_tokens=4000,
        output_tokens=400,
        turn_seconds=3.0,
        timeout_s=300,
        tools=(
            Tool("list_tables", 0.20, 0.005),
            Tool("describe_table", 0.25, 0.005),
            Tool("run_sql", 0.45, 0.05),
            Tool("plot_chart", 0.10, 0.02),
        ),
        versions=(
            Version("v1", "gpt-4o", false_claim=0.25),
            # Cheaper per token, but a reasoning model: more output tokens per call.
            Version("v2", "o3-mini", false_claim=0.25, start=0.60),
        ),
        tasks=("weekly-kpis", "ad-hoc-query", "churn-analysis", "funnel-report"),
        check="query-result-diff",
        verified=0.75,
        verify_delay_s=5 * 60,
        judge=0.20,
        partial=0.15,
    ),
    NamedAgent(
        name="triage-agent",
        team="it-operations",
        weight=0.16,
        base_success=0.80,
        steps=2.5,
        context_tokens=1500,
        output_tokens=150,
        turn_seconds=1.5,
        timeout_s=60,
        tools=(
            Tool("classify_ticket", 0.30, 0.005),
            Tool("lookup_runbook", 0.30, 0.01),
            Tool("page_oncall", 0.10, 0.02),
            Tool("query_metrics", 0.30, 0.03),
        ),
        versions=(
            Version("v1", "claude-3-5-haiku", false_claim=0.12),
            Version("v2", "gemini-2.0-flash", false_claim=0.12, start=0.55),
        ),
        tasks=("alert-triage", "incident-routing", "access-request", "outage-report"),
        check="routing-audit",
        verified=0.60,
        verify_delay_s=2 * 3600,
        multi_agent=0.6,
        min_handoffs=1,
        extra_handoff=0.10,
        sub_agents=("triage", "specialist", "triage"),
    ),
    NamedAgent(
        name="onboarding-guide",
        team="people-ops",
        weight=0.05,
        base_success=0.74,
        steps=3.0,
        context_tokens=2500,
        output_tokens=350,
        turn_seconds=2.0,
        timeout_s=120,
        tools=(
            Tool("search_handbook", 0.6, 0.01),
            Tool("lookup_employee", 0.25, 0.01),
            Tool("create_it_request", 0.15, 0.03),
        ),
        versions=(
            Version("v1", "gpt-4.1-mini", false_claim=0.15),
            Version("v2", "gpt-4.1-mini", false_claim=0.15, start=0.40),
        ),
        tasks=("benefits-question", "laptop-setup", "policy-question", "first-week-plan"),
        check="request-fulfilled",
        verified=0.50,
        verify_delay_s=3 * 3600,
        judge=0.30,
    ),
    NamedAgent(
        name="code-reviewer",
        team="developer-productivity",
        weight=0.06,
        base_success=0.66,
        steps=4.0,
        context_tokens=12000,
        output_tokens=800,
        turn_seconds=5.0,
        timeout_s=600,
        tools=(
            Tool("fetch_diff", 0.4, 0.01),
            Tool("read_file", 0.4, 0.01),
            Tool("post_comment", 0.2, 0.02),
        ),
        versions=(
            Version("v1", "gemini-2.5-pro", false_claim=0.20),
            Version("v2", "claude-sonnet-4", false_claim=0.20, start=0.30),
            Version("v3", "claude-sonnet-4", false_claim=0.20, start=0.85),
        ),
        tasks=("review-pr", "security-review", "style-check"),
        check="review-accepted",
        verified=0.70,
        verify_delay_s=90 * 60,
        human=0.10,
    ),
)

#: Sub-agent name triples for generated multi-agent agents (planner → worker → …).
SUB_AGENT_SETS: Final[tuple[tuple[str, str, str], ...]] = (
    ("coordinator", "worker", "reviewer"),
    ("router", "specialist", "router"),
    ("planner", "executor", "verifier"),
)

GENERIC_TEAMS: Final = (
    "growth",
    "marketing",
    "sales-ops",
    "legal",
    "security",
    "platform",
    "mobile",
    "analytics",
    "compliance",
    "partnerships",
    "procurement",
    "design",
    "customer-success",
    "hr-tools",
)

GENERIC_TOOLS: Final[tuple[Tool, ...]] = (
    Tool("web_search", 1.0, 0.03),
    Tool("http_get", 1.0, 0.04),
    Tool("search_docs", 1.0, 0.01),
    Tool("vector_search", 1.0, 0.01),
    Tool("sql_query", 1.0, 0.03),
    Tool("send_email", 1.0, 0.02),
    Tool("create_ticket", 1.0, 0.02),
    Tool("update_crm", 1.0, 0.03),
    Tool("read_file", 1.0, 0.01),
    Tool("write_file", 1.0, 0.01),
    Tool("run_python", 1.0, 0.05),
    Tool("calendar_lookup", 1.0, 0.01),
    Tool("slack_post", 1.0, 0.01),
    Tool("translate", 1.0, 0.01),
    Tool("summarize_pdf", 1.0, 0.02),
    Tool("jira_update", 1.0, 0.02),
    Tool("s3_get", 1.0, 0.005),
    Tool("geocode", 1.0, 0.02),
    Tool("fetch_page", 1.0, 0.06),
)

GENERIC_TASKS: Final = (
    "summarize-document",
    "answer-question",
    "draft-email",
    "extract-fields",
    "classify-request",
    "update-record",
    "generate-report",
    "translate-text",
    "schedule-meeting",
    "reconcile-data",
    "triage-alert",
    "review-contract",
)

#: Names of environment checks for generated agents.
GENERIC_CHECKS: Final = (
    "api-state-check",
    "schema-validation",
    "record-updated",
    "email-delivered",
    "ticket-closed",
    "unit-checks",
)

#: Tool error types and their shares in ordinary operation.
ERROR_TYPES: Final[tuple[tuple[str, float], ...]] = (
    ("http.503", 0.35),
    ("timeout", 0.25),
    ("rate_limited", 0.15),
    ("http.500", 0.10),
    ("invalid_arguments", 0.10),
    ("http.404", 0.05),
)

#: Error types while a dependency is down (the incident).
INCIDENT_ERROR_TYPES: Final[tuple[tuple[str, float], ...]] = (
    ("http.503", 0.75),
    ("timeout", 0.25),
)

#: Where runs come from, stored in the run's attributes.
CHANNELS: Final[tuple[tuple[str, float], ...]] = (
    ("web", 0.45),
    ("api", 0.25),
    ("slack", 0.20),
    ("email", 0.10),
)
