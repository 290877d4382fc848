"""A tiny-neox in the top-block regime (top 1 of 2 blocks + final norm + head trained) and its encoded examples."""
from types import SimpleNamespace

import pytest
import torch
from attribution_helpers import MISLABELLED, TEST_TEXTS, TRAIN_TEXTS, TinyTop

from lib.collect.encoding import encode_examples
from lib.collect.head import lm_parts
from lib.collect.top_blocks import TopBlocks, _compute_states
from lib.models import load_causal_lm


@pytest.fixture(scope="session")
def tiny_top():
    """tiny-neox (seed 0) with only its top block, final norm and LM head trainable (never trained here); its
    encoded examples include MISLABELLED's, which no test or training id list names.

    Torch runs on one thread while the fixture lives (tiny ops are slower on more of the shared cores).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model, tokenizer = load_causal_lm("tiny-neox")
    top = TopBlocks(model, 1)
    top.freeze_bottom(model, train_head=True)
    examples = [SimpleNamespace(id=i, prompt=p, target=t) for i, (p, t) in enumerate(TRAIN_TEXTS)]
    examples += [SimpleNamespace(id=i, prompt=p, target=t) for i, (p, t) in {**TEST_TEXTS, **MISLABELLED}.items()]
    encoded = encode_examples(tokenizer, examples, max_length=64, append_eos=False)
    with torch.random.fork_rng(devices=[]):
        states = _compute_states(top, list(encoded.values()), pad_id=tokenizer.pad_token_id, batch_size=8,
                                 device="cpu")
    yield TinyTop(parts=lm_parts(model, top), encoded=encoded, states=states,
                  train_ids=list(range(len(TRAIN_TEXTS))), test_ids=list(TEST_TEXTS))
    torch.set_num_threads(threads)

