"""TrainedPart: the trained parameters only, the collector's per-example loss, and padding that changes nothing."""
import numpy as np
import pytest
import torch
from attribution_helpers import TinyTop

from lib.attribution import TrainedPart, example_set
from lib.collect.encoding import make_batch
from lib.collect.head import LMParts, example_mean, head_logits, target_hidden, token_nll


def collector_losses(tiny_top: TinyTop, ids) -> np.ndarray:
    """Per-example mean target NLL as the collector's training step and evaluator compute it."""
    batch = make_batch([tiny_top.encoded[i] for i in ids], 256, tiny_top.states)
    with torch.no_grad():
        nll, _ = token_nll(head_logits(tiny_top.parts, target_hidden(tiny_top.parts, batch)), batch.targets)
        return example_mean(nll, batch.token_example, batch.size).numpy()


def test_registers_exactly_the_trained_parameters(tiny_top):
    part = TrainedPart(tiny_top.parts)
    trained = {id(p) for p in tiny_top.parts.top.trainable_parameters()} | {id(tiny_top.parts.head.weight)}
    assert {id(p) for p in part.parameters()} == trained
    assert all(p.requires_grad for p in part.parameters())
    no_head = TrainedPart(tiny_top.parts, max_head_dim=100)  # the 257-way head is too large for this limit
    assert id(tiny_top.parts.head.weight) not in {id(p) for p in no_head.parameters()}
    assert no_head.lm_head is tiny_top.parts.head


def test_example_losses_are_the_collectors(tiny_top):
    ids = tiny_top.train_ids[:6]
    batch = example_set(tiny_top.encoded, tiny_top.states, ids).collate(
        example_set(tiny_top.encoded, tiny_top.states, ids).items)
    with torch.no_grad():
        ours = TrainedPart(tiny_top.parts).example_losses(batch).numpy()
    np.testing.assert_allclose(ours, collector_losses(tiny_top, ids), rtol=1e-5)


def test_no_mask_gives_the_same_logits_with_right_padding(tiny_top):
    """TRAK runs without the attention mask (vmap): with right padding and causal attention nothing changes."""
    examples = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids)
    batch = examples.collate(examples.items)
    assert (batch["mask"] == 0).any()  # the batch is padded
    part = TrainedPart(tiny_top.parts)
    with torch.no_grad():
        masked = part(batch["states"], batch["mask"], batch["positions"])
        unmasked = part(batch["states"], None, batch["positions"])
    real = batch["weights"] > 0
    torch.testing.assert_close(unmasked[real], masked[real], rtol=1e-5, atol=1e-5)


def test_refuses_other_regimes_and_examples_without_states(tiny_top):
    full = LMParts(body=tiny_top.parts.body, head=tiny_top.parts.head, softcap=None, top=None)
    with pytest.raises(ValueError, match="top-block regime only"):
        TrainedPart(full)
    with pytest.raises(ValueError, match="no boundary states for examples \\[0\\]"):
        example_set(tiny_top.encoded, {}, [0])
