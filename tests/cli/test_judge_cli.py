"""`agentslo detect --judge` and `agentslo findings --agreement --detector judge` end to
end against the scripted local judge server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.detect.judge_script import JudgeServer
from tests.detect.test_judge import OFF, ON, _steps, _write
from tests.openai_server import Reply, ScriptedOpenAIServer
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.store import open_store

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    path = tmp_path / "c.duckdb"
    with open_store(path) as store:
        _write(
            store,
            {
                "r-drift": _steps("drift", [ON] * 4 + [OFF] * 4),
                "r-calm": _steps("calm", [ON] * 8),
                "r-bad": _steps("malformed", [ON] * 8),
            },
        )
    return ["--db", str(path)]


def test_detect_judge_then_agreement(db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    with JudgeServer().running() as server:
        args = ["detect", *db, "--judge", "--model", "m", "--base-url", server.url]
        result = runner.invoke(app, [*args, "--judge-mode", "drift", "--json"])
        assert result.exit_code == 0, result.output
        assert {r["auth"] for r in server.requests} == {"Bearer sk-cli"}
    summary = json.loads(result.stdout)
    assert summary["findings"]["drift"] == 1  # the rules ran too
    assert summary["judge"]["modes"]["drift"] == {
        "accepted": 2,
        "present": 1,
        "rejected": {"not_json": 1},
        "errors": 0,
    }
    listed = json.loads(
        runner.invoke(app, ["findings", *db, "--detector", "judge", "--json"]).stdout
    )
    assert [(f["run_id"], f["mode"], f["step"]) for f in listed] == [("r-drift", "drift", 5)]

    scored = runner.invoke(
        app, ["findings", *db, "--agreement", "--detector", "judge", "--mode", "drift", "--json"]
    )
    assert scored.exit_code == 0, scored.output
    (row,) = json.loads(scored.stdout)
    assert (row["both"], row["neither"], row["kappa"]) == (1, 1, 1.0)
    table = runner.invoke(app, ["findings", *db, "--agreement", "--detector", "judge"])
    assert table.exit_code == 0 and "kappa" in table.stdout and "not_json 1" in table.stdout

    # without --judge, detect is what it was: nothing asked, nothing judged
    plain = runner.invoke(app, ["detect", *db, "--rerun", "--json"])
    assert plain.exit_code == 0 and "judge" not in json.loads(plain.stdout)


def test_detect_judge_table_output(db: list[str]) -> None:
    with JudgeServer().running() as server:
        args = ["detect", *db, "--judge", "--model", "m", "--base-url", server.url]
        result = runner.invoke(app, [*args, "--judge-mode", "drift"])
    assert result.exit_code == 0, result.output
    assert "judge m: 3 runs judged" in result.stdout
    assert "never findings" in result.stdout


def test_a_misconfigured_judge_stops_and_says_what_to_check(db: list[str]) -> None:
    with JudgeServer().running() as server:
        url = server.url.replace("/v1", "/missing")  # every request a 404
        args = ["detect", *db, "--judge", "--model", "m", "--base-url", url]
        result = runner.invoke(app, [*args, "--judge-concurrency", "1"])
        # the batch that met the 404 is finished, then the call stops
        assert len(server.requests) == 3 * 5
    assert result.exit_code == 2
    assert "HTTP 404" in result.output and "check --base-url, --model" in result.output


def test_failed_requests_are_reported_with_the_first_message(db: list[str]) -> None:
    down = ScriptedOpenAIServer(lambda body: Reply({"error": "overloaded"}, status=503))
    with down.running() as server:
        args = ["detect", *db, "--judge", "--model", "m", "--base-url", server.url]
        result = runner.invoke(app, [*args, "--judge-mode", "drift", "--judge-attempts", "1"])
    assert result.exit_code == 0, result.output
    assert "first failed request" in result.stderr and "HTTP 503" in result.stderr
    assert "judged again by the next call" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--judge", "--base-url", "http://127.0.0.1:9/v1"], "--model"),
        (["--judge", "--model", "m"], "--base-url"),
        (["--model", "m"], "add --judge"),
        (["--judge", "--model", "m", "--base-url", "ftp://x"], "not an http(s) URL"),
        (
            ["--judge", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--judge-mode", "x"],
            "unknown judge mode 'x'",
        ),
    ],
)
def test_judge_usage_errors(
    db: list[str], args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = runner.invoke(app, ["detect", *db, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
