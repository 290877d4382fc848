import numpy as np
import pytest

from lib.encoders import CachedEncoder, CausalLMEncoder, load_encoder

PARAPHRASES = ("A man is playing a guitar.", "Someone is playing the guitar.")
UNRELATED = "The stock market fell sharply today."


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("name", ["minilm-mean", "minilm-cls"])
def test_minilm_paraphrases_are_closer_than_unrelated(name, tmp_path):
    encoder = load_encoder(name, cache_dir=tmp_path)
    a, b, c = encoder.embed([*PARAPHRASES, UNRELATED])
    assert encoder.dim == 384 and a.dtype == np.float32
    assert _cos(a, b) > _cos(a, c) + 0.2


def test_mean_and_cls_pooling_differ(tmp_path):
    mean = load_encoder("minilm-mean", cache_dir=tmp_path).embed([UNRELATED])
    cls = load_encoder("minilm-cls", cache_dir=tmp_path).embed([UNRELATED])
    assert abs(np.linalg.norm(mean) - 1) < 1e-4  # published model: mean pooling + normalize
    assert not np.allclose(mean / np.linalg.norm(mean), cls / np.linalg.norm(cls), atol=1e-2)


class CountingEncoder:
    name, dim = "counting", 3

    def __init__(self):
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_cache_embeds_each_text_once_and_persists(tmp_path):
    inner = CountingEncoder()
    cached = CachedEncoder(inner, tmp_path)
    first = cached.embed(["aa", "b", "aa"])
    assert inner.seen == ["aa", "b"]
    np.testing.assert_array_equal(first[0], first[2])
    reopened = CachedEncoder(CountingEncoder(), tmp_path)
    np.testing.assert_array_equal(reopened.embed(["b", "aa"]), first[[1, 0]])
    assert reopened.encoder.seen == []
    reopened.embed(["new"])
    assert reopened.encoder.seen == ["new"]


def test_causal_lm_encoder_ignores_padding():
    encoder = CausalLMEncoder("tiny-neox", bf16=False, batch_size=16)
    alone = encoder.embed(["short"])
    batched = encoder.embed(["short", "a much longer sentence that forces padding of the first"])
    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)
    assert batched.shape == (2, encoder.dim)


def test_a_gpt_encoder_computes_in_fp32_whatever_the_cpu(monkeypatch):
    """bf16 where the CPU has bf16 units would make the features (and every fit on them) machine-dependent."""
    import lib.precision

    monkeypatch.setattr(lib.precision, "cpu_flags", lambda: {"avx512_bf16", "amx_bf16"})
    assert CausalLMEncoder("tiny-neox").bf16 is False
    assert CausalLMEncoder("tiny-neox", bf16=True).bf16 is True  # still there for those who ask


OTHERS = ["a much longer sentence that forces padding of the first " * 3, "another text", "and a third one here"]


@pytest.mark.parametrize("make", [lambda: CausalLMEncoder("tiny-neox", bf16=False),
                                  lambda: load_encoder("minilm-mean", cache=False)], ids=["gpt", "minilm"])
def test_a_texts_vector_is_bit_identical_whatever_is_embedded_with_it(make):
    """The cache keeps a text's first vector: it must not depend on the texts that shared its call (a fresh
    machine then reproduces the committed book's fits)."""
    encoder = make()
    alone = encoder.embed(["short"])[0]
    for others in (OTHERS, OTHERS[1:], OTHERS[:1] * 20):
        np.testing.assert_array_equal(encoder.embed(["short", *others])[0], alone)
        np.testing.assert_array_equal(encoder.embed([*others, "short"])[-1], alone)


@pytest.mark.parametrize("name", ["minilm-mea", "MiniLM-mean", "smollm2", "", "org/"])
def test_unknown_encoder_names_are_refused_up_front_with_the_valid_ones(name, tmp_path, monkeypatch):
    import lib.models

    def no_load(*args, **kwargs):
        raise AssertionError("an unknown encoder name reached the model loader")

    monkeypatch.setattr(lib.models, "load_causal_lm", no_load)
    with pytest.raises(ValueError, match=r"unknown encoder .*valid encoders: minilm-mean, minilm-cls, smollm2-135m"):
        load_encoder(name, cache_dir=tmp_path)


@pytest.mark.parametrize("name", ["minilm-mean", "minilm-cls", "tiny-neox", "smollm2-135m", "pythia-160m",
                                  "EleutherAI/pythia-14m"])
def test_known_encoder_names_pass_the_check(name):
    from lib.encoders import check_encoder_name

    assert check_encoder_name(name) == name


def test_gptfluence_refuses_a_misspelled_encoder_before_loading_anything():
    from lib.simulators import GPTfluence

    with pytest.raises(ValueError, match="unknown encoder 'minilm-mea'"):
        GPTfluence("minilm-mea")
