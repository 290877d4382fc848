"""The foundation chapter: what the book's GPT says before any fine-tuning."""
from __future__ import annotations

from transformers import PreTrainedModel, PreTrainedTokenizerBase


def complete(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str, new_tokens: int = 8) -> str:
    """The greedy continuation of `prompt` (at most `new_tokens` tokens), without the prompt and special tokens."""
    batch = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**batch, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True)
