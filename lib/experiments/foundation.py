"""The foundation chapter: the tasks and their prompts, what the book's GPT says before any fine-tuning, how the
frozen encoder places paraphrases, and how many tokens the prompts take.

`run(scale, data_dir=...)` computes a `FoundationResult` (tidy tables); `facts(result)` is what the chapter glues;
`prompt_text`, `mixture_text` and `gpt_text` are what it prints.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lib.data import TASK_NAMES, Example, draw_splits, get_task, instruction_mixture, load_examples
from lib.encoders import load_encoder
from lib.experiments.wording import human_count, number
from lib.models import load_causal_lm
from lib.scales import get_scale

FRANCE_PROMPT = "The capital of France is"
SIMILARITY_TEXTS = ("A man is playing a guitar.", "Someone is playing the guitar.",
                    "The stock market fell sharply today.", "Shares dropped steeply this morning.",
                    "The film was a delight from start to finish.")
"""Two paraphrase pairs and an unrelated sentence: the first two are the paraphrase, the first and third unrelated."""
LENGTH_POOL = 32  # pool examples per task whose token lengths are counted
PROMPT_CHARS, TARGET_CHARS, MIXTURE_PROMPT_CHARS, MIXTURE_TARGET_CHARS = 400, 80, 300, 60  # printed prefix lengths


@dataclass
class FoundationResult:
    """What the foundation chapter shows: task sizes, sample prompts, the GPT's completions, encoder similarities
    and token lengths."""

    scale: str
    model: str                   # the GPT's name at this scale
    encoder: str                 # the encoder's name
    sizes: pd.DataFrame          # task -> kind, train examples, test examples
    prompts: list[Example]       # plain fine-tuning prompts, `examples_shown` pool examples per task
    mixture: list[Example]       # every 4th pool example of a small instruction-tuning mixture
    n_params: int                # the GPT's parameter count
    completions: pd.DataFrame    # prompt, completion (greedy), reference ("" for the free prompt)
    similarity: pd.DataFrame     # cosine similarity of SIMILARITY_TEXTS' embeddings (columns: 18-character prefixes)
    lengths: pd.DataFrame        # task, prompt tokens, target tokens of LENGTH_POOL pool examples per task


def complete(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str, new_tokens: int = 8) -> str:
    """The greedy continuation of `prompt` (at most `new_tokens` tokens), without the prompt and special tokens."""
    batch = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**batch, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True)


def task_sizes(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per task: its kind and the example counts of its train and test source splits."""
    return pd.DataFrame([
        {"task": t, "kind": get_task(t).kind,
         "train examples": len(load_examples(t, "train", data_dir=data_dir)),
         "test examples": len(load_examples(t, "test", data_dir=data_dir))}
        for t in TASK_NAMES]).set_index("task")


def cosine_similarity(embeddings: np.ndarray, texts: tuple[str, ...]) -> pd.DataFrame:
    """Pairwise cosine similarity of `embeddings` (one row per text), rows named by text, columns by a prefix."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    return pd.DataFrame(unit @ unit.T, index=list(texts), columns=[t[:18] + "..." for t in texts])


def token_lengths(tokenizer: PreTrainedTokenizerBase, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Prompt and target tokens of LENGTH_POOL seeded pool examples per task."""
    return pd.DataFrame([{"task": task, "prompt tokens": len(tokenizer(ex.prompt)["input_ids"]),
                          "target tokens": len(tokenizer(ex.target)["input_ids"])}
                         for task in TASK_NAMES
                         for ex in draw_splits(task, pool_size=LENGTH_POOL, test_size=16, seed=0,
                                               data_dir=data_dir).pool])


def run(scale: str, *, data_dir: str | os.PathLike | None = None) -> FoundationResult:
    """Read the tasks, load the scale's GPT and encoder, and compute everything the foundation chapter shows."""
    current = get_scale(scale)
    sizes = task_sizes(data_dir)
    prompts = [ex for task in TASK_NAMES
               for ex in draw_splits(task, pool_size=8, test_size=4, unseen_size=4, seed=0,
                                     data_dir=data_dir).pool[: current.examples_shown]]
    mixture = instruction_mixture(pool_size=12, test_size=6, seed=0, data_dir=data_dir).pool[::4]
    model, tokenizer = load_causal_lm(current.model)
    model.eval()
    sst2 = draw_splits("sst2", pool_size=8, test_size=4, seed=0, data_dir=data_dir).test[0]
    completions = pd.DataFrame([
        {"prompt": FRANCE_PROMPT, "completion": complete(model, tokenizer, FRANCE_PROMPT, 4), "reference": ""},
        {"prompt": sst2.prompt, "completion": complete(model, tokenizer, sst2.prompt, 2), "reference": sst2.target}])
    encoder = load_encoder(current.encoder)
    return FoundationResult(
        scale=scale, model=current.model, encoder=encoder.name, sizes=sizes, prompts=prompts, mixture=mixture,
        n_params=sum(p.numel() for p in model.parameters()), completions=completions,
        similarity=cosine_similarity(encoder.embed(list(SIMILARITY_TEXTS)), SIMILARITY_TEXTS),
        lengths=token_lengths(tokenizer, data_dir))


def length_medians(result: FoundationResult) -> pd.DataFrame:
    """Median prompt and target tokens per task."""
    return result.lengths.groupby("task").median()


def facts(result: FoundationResult) -> dict[str, object]:
    """Gluable facts of the foundation chapter: two task sizes, the GPT's size and completion, two similarities."""
    return {
        "n_train_sst2": number(int(result.sizes.loc["sst2", "train examples"])),
        "n_test_boolq": number(int(result.sizes.loc["boolq", "test examples"])),
        "model_params": human_count(result.n_params),
        "france_completion": result.completions.loc[0, "completion"].strip().split("\n")[0],
        "paraphrase_cos": number(result.similarity.iloc[0, 1]),
        "unrelated_cos": number(result.similarity.iloc[0, 2]),
    }


def prompt_text(examples: list[Example]) -> str:
    """Fine-tuning prompts as the chapter prints them: task, id and label, then prompt -> target (cut)."""
    return "\n".join(f"--- {ex.task} (id {ex.id}, label {ex.label})\n{ex.prompt[:PROMPT_CHARS]}"
                     + ("..." if len(ex.prompt) > PROMPT_CHARS else "") + "  ->" + repr(ex.target[:TARGET_CHARS])
                     for ex in examples)


def mixture_text(examples: list[Example]) -> str:
    """Instruction-tuning prompts as the chapter prints them: task, then prompt -> target (cut)."""
    return "\n".join(f"--- {ex.task}\n{ex.prompt[:MIXTURE_PROMPT_CHARS]}  ->{ex.target[:MIXTURE_TARGET_CHARS]!r}"
                     for ex in examples)


def gpt_text(result: FoundationResult) -> str:
    """The GPT's completions as the chapter prints them: the free prompt's, then an SST-2 test prompt's."""
    free, sst2 = result.completions.iloc[0], result.completions.iloc[1]
    return f"{free['completion']!r}\n{sst2['prompt']} -> {sst2['completion']!r} (reference: {sst2['reference']!r})"
