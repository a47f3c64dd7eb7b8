"""The lexical helpers the detectors share."""

from __future__ import annotations

import pytest

from agentslo.detect._text import constraints, cosine, entities, mentions, quote


def test_entities_by_kind() -> None:
    found = entities("Pay $1,200.00 to ACC-99 on 2026-03-01, ticket #4411, qty 250, step 3")
    assert found == {
        "$1200.00": "amount",
        "acc-99": "id",
        "2026-03-01": "date",
        "4411": "id",
        "250": "number",
    }
    assert mentions("paid 1200.00 dollars as $1,200.00", "$1200.00")


def test_constraints_and_polarity() -> None:
    rules = constraints("You must reply in French. Never share the API key; always be brief.")
    assert [(r.text, r.negative) for r in rules] == [
        ("must reply in French", False),
        ("Never share the API key", True),
        ("always be brief", False),
    ]


def test_cosine_and_quote() -> None:
    assert cosine("revenue report", "the revenue report") == pytest.approx(1.0)
    assert cosine("", "x") == 0.0
    assert quote("a " * 300, limit=10).endswith("…")
