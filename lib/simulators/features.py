"""Frozen-encoder features of training and test examples, looked up by id through the texts of Dynamics."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lib.dynamics import Dynamics

if TYPE_CHECKING:
    from lib.encoders import Encoder

KINDS = ("train", "test")


def resolve_encoder(encoder: Encoder | str) -> Encoder:
    """The encoder object itself, or `lib.encoders.load_encoder(name)` for a name (imported only then)."""
    if isinstance(encoder, str):
        from lib.encoders import load_encoder  # lazy: torch and sentence-transformers, not needed for given features

        return load_encoder(encoder)
    missing = [attr for attr in ("name", "dim", "embed") if not hasattr(encoder, attr)]
    if missing:
        raise ValueError(f"encoder {encoder!r} lacks {missing}: it needs .name, .dim and .embed(texts)")
    return encoder


class TextFeatures:
    """Embeds each distinct text once and remembers the id -> text maps of every Dynamics it is shown.

    normalize=True scales every embedding to unit L2 norm (what MiniLM with mean pooling returns
    already), so the simulator's initial factors have the same size whatever the encoder: a GPT's
    mean hidden state has a norm in the tens or hundreds, which made the first rollouts explode.
    """

    def __init__(self, encoder: Encoder | str, normalize: bool = True):
        self.encoder = resolve_encoder(encoder)
        self.normalize = normalize
        self._texts: dict[str, dict[int, str]] = {kind: {} for kind in KINDS}
        self._cache: dict[str, np.ndarray] = {}

    def remember(self, dynamics: Dynamics) -> None:
        """Learn the training and test texts of `dynamics`."""
        self._texts["train"].update(dynamics.train_texts)
        self._texts["test"].update(dynamics.test_texts)

    def embed(self, ids: np.ndarray, kind: str) -> np.ndarray:
        """float32 [len(ids), dim] features of training (kind "train") or test examples (kind "test")."""
        texts = self._texts[kind]
        missing = [int(i) for i in ids if int(i) not in texts]
        if missing:
            field = "train_texts" if kind == "train" else "test_texts"
            raise ValueError(
                f"no text for {kind} ids {missing[:10]}{' ..' if len(missing) > 10 else ''}: "
                f"GPTfluence embeds examples from Dynamics.{field}"
            )
        wanted = [texts[int(i)] for i in ids]
        new = sorted(set(wanted) - set(self._cache))
        if new:
            vectors = np.asarray(self.encoder.embed(new), dtype=np.float32)
            if vectors.shape != (len(new), self.encoder.dim):
                raise ValueError(
                    f"encoder {self.encoder.name!r} returned shape {vectors.shape} for {len(new)} texts, "
                    f"expected ({len(new)}, {self.encoder.dim})"
                )
            if self.normalize:
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                vectors = vectors / np.where(norms > 0, norms, 1.0)
            self._cache.update(zip(new, vectors))
        if not wanted:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._cache[text] for text in wanted])
