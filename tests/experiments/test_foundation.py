"""lib.experiments.foundation: the GPT's greedy completion, the chapter's facts and the text it prints."""
import numpy as np
import pandas as pd
import pytest

from lib.data import Example
from lib.experiments.foundation import (FoundationResult, complete, cosine_similarity, facts, gpt_text, length_medians,
                                        mixture_text, prompt_text)
from lib.models import load_causal_lm


def test_complete_returns_only_the_new_greedy_tokens():
    model, tokenizer = load_causal_lm("tiny-neox")
    model.eval()
    prompt = "The capital of France is"
    text = complete(model, tokenizer, prompt, 3)
    again = complete(model, tokenizer, prompt, 3)
    assert text == again and text and prompt not in text  # greedy: the same continuation, and only it


def test_cosine_similarity_ignores_the_embedding_norm():
    embeddings = np.array([[1.0, 0.0], [3.0, 0.0], [1.0, 1.0]])
    table = cosine_similarity(embeddings, ("a first text that is long", "b", "c"))
    assert table.index.tolist() == ["a first text that is long", "b", "c"]
    assert table.columns.tolist() == ["a first text that ...", "b...", "c..."]
    np.testing.assert_allclose(table.to_numpy(), [[1, 1, 2 ** -0.5], [1, 1, 2 ** -0.5], [2 ** -0.5, 2 ** -0.5, 1]])


def _result(**changes) -> FoundationResult:
    fields = dict(
        scale="smoke", model="tiny-neox", encoder="minilm-mean",
        sizes=pd.DataFrame({"kind": ["classification", "classification"], "train examples": [67349, 10],
                            "test examples": [5, 1089]}, index=pd.Index(["sst2", "boolq"], name="task")),
        prompts=[], mixture=[], n_params=135_000_000,
        completions=pd.DataFrame({"prompt": ["The capital of France is", "Review: fine. Sentiment:"],
                                  "completion": [" Paris.\nThe", " positive"], "reference": ["", " positive"]}),
        similarity=cosine_similarity(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), ("x", "y", "z")),
        lengths=pd.DataFrame({"task": ["sst2", "sst2", "rte"], "prompt tokens": [10, 20, 50],
                              "target tokens": [1, 3, 2]}))
    return FoundationResult(**(fields | changes))


def test_facts_format_the_counts_the_completion_and_the_similarities():
    out = facts(_result())
    assert out == {"n_train_sst2": "67,349", "n_test_boolq": "1,089", "model_params": "135M",
                   "france_completion": "Paris.", "paraphrase_cos": "1.00", "unrelated_cos": "0"}


def test_printed_prompts_cut_long_prompts_and_targets():
    long = Example(id=7, task="sst2", prompt="p" * 450, target="t" * 90, label=1)
    short = Example(id=8, task="rte", prompt="short", target="yes", label=0)
    assert prompt_text([long, short]) == (f"--- sst2 (id 7, label 1)\n{'p' * 400}...  ->{'t' * 80!r}\n"
                                          "--- rte (id 8, label 0)\nshort  ->'yes'")
    assert mixture_text([long]) == f"--- sst2\n{'p' * 300}  ->{'t' * 60!r}"


def test_gpt_text_shows_both_completions_with_the_reference():
    assert gpt_text(_result()) == ("' Paris.\\nThe'\nReview: fine. Sentiment: -> ' positive' "
                                   "(reference: ' positive')")


def test_length_medians_per_task():
    medians = length_medians(_result())
    assert medians.loc["sst2"].tolist() == pytest.approx([15, 2]) and medians.loc["rte"].tolist() == [50, 2]
