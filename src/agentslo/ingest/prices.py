"""Model prices: the cost of a model call from its token counts, when a span has none.

agentslo ships a table of list prices (``ingest/data/prices.json``, USD per million
tokens); a user's file (JSON or YAML of the same shape) is laid over it, so a
negotiated rate or a private model is one line. A model matches its exact name,
else the longest listed name it starts with, so ``gpt-4o-2024-08-06`` is priced as
``gpt-4o`` and ``openai/gpt-4o-mini`` as ``gpt-4o-mini``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = ["ModelPrice", "PriceTable", "load_prices"]

_PER: Final = 1_000_000.0


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> float:
        """Cost in USD; cached input tokens are part of ``input_tokens`` (OTel GenAI)."""
        read = min(cache_read_tokens or 0, input_tokens or 0)
        write = min(cache_write_tokens or 0, (input_tokens or 0) - read)
        fresh = (input_tokens or 0) - read - write
        total = fresh * self.input + (output_tokens or 0) * self.output
        total += read * (self.input if self.cache_read is None else self.cache_read)
        total += write * (self.input if self.cache_write is None else self.cache_write)
        return total / _PER


class PriceTable:
    """Model name -> price, with prefix matching and a per-name memo."""

    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        self.prices = dict(prices)
        self._by_length = sorted(self.prices, key=len, reverse=True)
        self._memo: dict[str, ModelPrice | None] = {}

    def lookup(self, model: str | None) -> ModelPrice | None:
        """The price of ``model``, or None when the table does not know it."""
        if not model:
            return None
        if model in self._memo:
            return self._memo[model]
        name = model.lower().rsplit("/", 1)[-1]
        found = self.prices.get(name)
        if found is None:
            found = next((self.prices[p] for p in self._by_length if name.startswith(p)), None)
        if len(self._memo) < 10_000:
            self._memo[model] = found
        return found


def _parse(doc: Any, origin: str) -> dict[str, ModelPrice]:
    if not isinstance(doc, dict):
        raise ValueError(f"{origin}: expected a mapping of model name to prices")
    out: dict[str, ModelPrice] = {}
    for name, entry in doc.items():
        if str(name).startswith("_"):
            continue
        if not isinstance(entry, dict) or not {"input", "output"} <= set(entry):
            raise ValueError(
                f"{origin}: model {name!r} needs 'input' and 'output' (USD per million "
                "tokens), optionally 'cache_read' and 'cache_write'"
            )
        unknown = set(entry) - {"input", "output", "cache_read", "cache_write"}
        if unknown:
            raise ValueError(f"{origin}: model {name!r} has unknown key(s) {sorted(unknown)}")
        try:
            values = {k: float(v) for k, v in entry.items()}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{origin}: model {name!r}: prices must be numbers") from exc
        if any(v < 0 for v in values.values()):
            raise ValueError(f"{origin}: model {name!r}: prices must not be negative")
        out[str(name).lower()] = ModelPrice(**values)
    return out


def load_prices(override: str | Path | None = None) -> PriceTable:
    """The shipped price table, with the entries of ``override`` (JSON/YAML) on top."""
    shipped = resources.files("agentslo.ingest").joinpath("data/prices.json").read_text("utf-8")
    prices = _parse(json.loads(shipped), "shipped price table")
    if override is not None:
        path = Path(override)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the price file ({exc})") from exc
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid JSON or YAML ({exc})") from exc
        prices.update(_parse(doc, str(path)))
    return PriceTable(prices)
