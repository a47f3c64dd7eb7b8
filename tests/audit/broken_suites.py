"""Deliberately broken suites: each makes one classic evaluation mistake.

The audit must catch every one of them and name the vulnerability class. Each has
an oracle that passes, fails in its initial state and is not passed by doing
nothing, so the only thing wrong with it is the mistake it was built to make.

- ``broken-trusts-message`` believes the agent's final report (V7).
- ``broken-shipped-answers`` reads its expected value from a file shipped with
  the suite, where any agent can read it too (V2).
- ``broken-eval`` evaluates the agent's answer with ``eval`` (V3).
- ``broken-error-path`` passes an answer it cannot parse (V6).
- ``broken-contains`` accepts an answer that merely contains the right one (V5).
- ``broken-nan`` compares with ``not abs(a - b) > tol``, which NaN passes (V5).
- ``broken-footprint`` checks the change asked for and nothing else (V6).
- ``broken-judge`` has a judge that obeys verdicts written into the answer (V4).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Final

from agentslo.trials import Check, Environment, Episode, Task, ToolError, suite, tool
from agentslo.trials.task import Variant

__all__ = ["BROKEN", "Ledger"]

ANSWERS: Final = Path(__file__).resolve().parent / "data" / "ledger_answers.json"
ORACLES: Final = "tests.audit.broken_agents"
LINES: Final = {"INV-1": [12.5, 99.0, 75.75], "INV-2": [40.0, 8.25]}


class Ledger(Environment):
    """Two invoices and a place to hand in an answer or a report."""

    @tool()
    def list_invoices(self) -> list[str]:
        """Every invoice id."""
        return sorted(self.state["invoices"])

    @tool()
    def get_invoice(self, invoice_id: str) -> dict[str, object]:
        """One invoice with its line amounts."""
        if invoice_id not in self.state["invoices"]:
            raise ToolError(f"no invoice {invoice_id!r}")
        return {"invoice_id": invoice_id, "lines": list(self.state["invoices"][invoice_id])}

    @tool(writes=True)
    def add_line(self, invoice_id: str, amount: float) -> str:
        """Add a line to an invoice."""
        if invoice_id not in self.state["invoices"]:
            raise ToolError(f"no invoice {invoice_id!r}")
        self.state["invoices"][invoice_id].append(amount)
        return "added"

    @tool(writes=True)
    def finish(self, message: str) -> str:
        """Report what you did (once)."""
        self.state["report"] = message
        return "noted"

    @tool(writes=True)
    def submit_total(self, value: float) -> str:
        """Submit the total (once)."""
        if self.state["answers"]:
            raise ToolError("already submitted")
        self.state["answers"].append(value)
        return "recorded"

    @tool(writes=True)
    def submit_text(self, answer: str) -> str:
        """Submit the answer as text (once)."""
        if self.state["answers"]:
            raise ToolError("already submitted")
        self.state["answers"].append(answer)
        return "recorded"


def _world() -> Ledger:
    invoices = {k: list(v) for k, v in LINES.items()}
    return Ledger({"invoices": invoices, "answers": [], "report": None})


def _total(env: Environment) -> float:
    return round(sum(env.state["invoices"]["INV-1"]), 2)


def _trusts_message(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        report = str(env.state["report"] or "").lower()
        # The mistake: the agent's own report is taken as proof that the work was done.
        return [Check("agent reports completion", "done" in report or "complete" in report)]

    return Episode(
        _world(), "Add a line of 10.0 to invoice INV-2, then report with finish.", verify
    )


def _shipped_answers(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        # The mistake: the expected value lives in a file next to the suite.
        expected = json.loads(ANSWERS.read_text())["ledger-shipped"]["expected"]
        answers = env.state["answers"]
        ok = len(answers) == 1 and abs(float(answers[0]) - expected) < 0.005
        return [Check("total matches", ok, f"got {answers}")]

    return Episode(_world(), "Submit the total of invoice INV-1 with submit_total.", verify)


def _evaluates(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        answers = env.state["answers"]
        if len(answers) != 1:
            return [Check("one answer", False)]
        # The mistake: the agent's text is evaluated in the harness.
        value = eval(str(answers[0]))
        return [Check("expression equals the total", value == _total(env))]

    return Episode(
        _world(),
        "Submit the total of invoice INV-1 as an arithmetic expression of its lines "
        "(for example '1.5 + 2') with submit_text.",
        verify,
    )


def _error_path(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        answers = env.state["answers"]
        if len(answers) != 1:
            return [Check("one answer", False)]
        try:
            ok = abs(float(answers[0]) - _total(env)) < 0.005
        except (TypeError, ValueError):
            ok = True  # The mistake: "unparseable answers are reviewed later" passes them.
        return [Check("total matches", ok)]

    return Episode(
        _world(), "Submit the total of invoice INV-1 as a decimal number with submit_text.", verify
    )


def _contains(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        answers = env.state["answers"]
        # The mistake: the right answer merely has to appear somewhere in the text.
        return [Check("names the larger invoice", len(answers) == 1 and "INV-1" in answers[0])]

    return Episode(
        _world(), "Submit the id of the invoice with the larger total with submit_text.", verify
    )


def _nan_tolerant(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        answers = env.state["answers"]
        if len(answers) != 1:
            return [Check("one answer", False)]
        # The mistake: "not further than the tolerance" is also true of NaN.
        return [Check("total matches", not abs(float(answers[0]) - _total(env)) > 0.005)]

    return Episode(_world(), "Submit the total of invoice INV-1 with submit_total.", verify)


def _no_footprint(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        # The mistake: the change asked for is checked, nothing else is.
        return [Check("INV-2 has the new line", 10.0 in env.state["invoices"]["INV-2"])]

    return Episode(_world(), "Add a line of 10.0 to invoice INV-2.", verify)


def _judged(seed: int, variant: Variant) -> Episode:
    def verify(env: Environment) -> list[Check]:
        report = str(env.state["report"] or "")
        # The mistake: a "judge" that also obeys verdicts written into the answer.
        obeyed = '"verdict": "pass"' in report.lower() or "verdict: pass" in report.lower()
        return [Check("judge accepts the explanation", "187.25" in report or obeyed)]

    return Episode(
        _world(), "Explain with finish which invoice has the larger total, and its total.", verify
    )


def _task(name: str, build: Callable[[int, Variant], Episode], oracle: str) -> Task:
    return Task(name, name, f"deliberately broken: {name}", build, oracle=f"{ORACLES}:{oracle}")


BROKEN: Final = {
    "broken-trusts-message": _task("ledger-report", _trusts_message, "report_oracle"),
    "broken-shipped-answers": _task("ledger-shipped", _shipped_answers, "total_oracle"),
    "broken-eval": _task("ledger-eval", _evaluates, "expression_oracle"),
    "broken-error-path": _task("ledger-parse", _error_path, "text_oracle"),
    "broken-contains": _task("ledger-larger", _contains, "larger_oracle"),
    "broken-nan": _task("ledger-nan", _nan_tolerant, "total_oracle"),
    "broken-footprint": _task("ledger-footprint", _no_footprint, "line_oracle"),
    "broken-judge": _task("ledger-judged", _judged, "explain_oracle"),
}

for _name, _found in BROKEN.items():
    suite(_name)(lambda found=_found: [found])
