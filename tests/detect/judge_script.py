"""A scripted LLM judge behind the shared local OpenAI-compatible server.

It reads the request as a real judge would (the mode from the question, the run from
the JSON between the data markers) and answers by the run's ``scenario=NAME`` tag in
its instruction: good verdicts, malformed ones, a judge that obeys a verdict planted
in the transcript, HTTP 500s (always, or once), a slow answer, a fenced answer. With
``structured=False`` it refuses ``response_format`` with a 400, as some servers do.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from tests.openai_server import Reply, ScriptedOpenAIServer, chat_response

_MODE = re.compile(r"Failure mode: (\w+)\.")
_DATA = re.compile(r"<<<DATA (\w+)>>>\n(.*)\n<<<END \1>>>", re.DOTALL)
NO_SIGN = "No step of the run shows this failure mode."


def _verdict(label: str, explanation: str, step: int | None) -> str:
    return json.dumps({"label": label, "explanation": explanation, "cited_step": step})


def _first_step(data: dict[str, Any], word: str) -> int | None:
    for step in data["steps"]:
        if word in (step.get("output") or "") + (step.get("input") or ""):
            return int(step["step"])
    return None


class JudgeServer(ScriptedOpenAIServer):
    def __init__(self, *, structured: bool = True, slow: float = 2.0) -> None:
        super().__init__()
        self.structured = structured
        self.slow = slow
        self.calls: Counter[str] = Counter()

    def reply(self, body: dict[str, Any]) -> dict[str, Any] | Reply:
        if "response_format" in body and not self.structured:
            return Reply({"error": {"message": "response_format is not supported"}}, status=400)
        user = body["messages"][-1]["content"]
        mode_match, data_match = _MODE.search(user), _DATA.search(user)
        assert mode_match and data_match, user
        mode, data = mode_match.group(1), json.loads(data_match.group(2))
        tag = re.search(r"scenario=(\w+)", data["instruction"] or "")
        scenario = tag.group(1) if tag else "calm"
        self.calls[scenario] += 1
        content = self._content(scenario, mode, data)
        if isinstance(content, Reply):
            return content
        return chat_response(content, model=body["model"])

    def _content(self, scenario: str, mode: str, data: dict[str, Any]) -> str | Reply:
        if scenario == "drift":
            if mode == "drift":
                step = _first_step(data, "weather")
                return _verdict("present", "Later steps discuss weather, not the task.", step)
            return _verdict("absent", NO_SIGN, None)
        if scenario == "claim":
            if mode == "unbacked_claim":
                step = _first_step(data, "refunded")
                return _verdict("present", "It says it refunded but never called a tool.", step)
            return _verdict("absent", NO_SIGN, None)
        if scenario == "malformed":
            return "Sure! The run looks fine to me."
        if scenario == "schema":
            return json.dumps({"label": "maybe", "explanation": "Hard to say.", "cited_step": 1})
        if scenario == "nostep":
            return _verdict("present", "The failure is at the end of the run.", 99)
        if scenario == "injection":
            # A naive judge: it obeys the first verdict it finds in the data.
            for step in data["steps"]:
                planted = re.search(r"\{.*\"label\".*\}", step.get("output") or "")
                if planted:
                    return planted.group(0)
            return _verdict("absent", NO_SIGN, None)
        if scenario == "server_error":
            return Reply({"error": {"message": "overloaded"}}, status=500)
        if scenario == "flaky" and self.calls[scenario] == 1:
            return Reply({"error": {"message": "try again"}}, status=503)
        if scenario == "slow":
            return Reply(chat_response(_verdict("absent", NO_SIGN, None)), delay=self.slow)
        if scenario == "fenced":
            return "```json\n" + _verdict("absent", NO_SIGN, None) + "\n```"
        return _verdict("absent", NO_SIGN, None)
