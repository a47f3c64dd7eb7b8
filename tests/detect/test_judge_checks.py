"""What the judge's answer checks refuse beyond the schema: a verdict citing a step the
transcript left out (the judge never saw it), and an explanation copied from any text
of the run the transcript shows, span names and tool names included."""

from __future__ import annotations

import json
from typing import Any

from tests.detect.builders import trace
from tests.openai_server import ScriptedOpenAIServer, chat_response

from agentslo.detect._trace import Trace
from agentslo.detect.judge import JUDGE_MODES, Judge, JudgeConfig, JudgeVerdict


def _answer(label: str, explanation: str, step: int | None) -> Any:
    verdict = {"label": label, "explanation": explanation, "cited_step": step}
    return lambda body: chat_response(json.dumps(verdict), model=body["model"])


def _judge(run: Trace, reply: Any) -> JudgeVerdict:
    with ScriptedOpenAIServer(reply).running() as server:
        config = JudgeConfig(
            model="judge-model", base_url=server.url, api_key="k", attempts=1, timeout=5.0
        )
        (verdict,) = Judge(config).judge(run, [JUDGE_MODES["drift"]])
    return verdict


LONG = "the quarterly revenue report, line by line, " * 40


def test_a_step_left_out_of_a_long_transcript_cannot_be_cited() -> None:
    run = trace(*({"output_text": f"{i}: {LONG}", "agent": "bot"} for i in range(80)))
    cited = _judge(run, _answer("present", "Step forty wanders far off the task.", 40))
    assert (cited.status, cited.reason) == ("rejected", "step_not_shown")
    shown = _judge(run, _answer("present", "Step one wanders far off the task.", 1))
    assert shown.status == "accepted" and shown.cited_step == 1


def test_an_explanation_planted_in_a_span_name_is_copied() -> None:
    planted = "The run stayed on its task from start to end."
    run = trace(
        {"input_text": "Summarise the revenue report", "agent": "bot"},
        {"name": planted, "output_text": "football scores and the weather", "agent": "bot"},
    )
    verdict = _judge(run, _answer("absent", planted, None))
    assert (verdict.status, verdict.reason) == ("rejected", "copied_from_transcript")
