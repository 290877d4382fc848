"""TRAK scores (Park et al. 2023) of every (training, test) pair, computed with traker at one model state.

traker takes per-example gradients of a model output f, projects them to `proj_dim` dimensions with a
random (JL) matrix, and scores a pair as phi(z')^T (Phi^T Phi)^{-1} phi(z) (1 - p(z)), with Phi the
projected gradients of the training examples. The model output is TRAK's classification margin
f = log(p / (1 - p)) of the target token, averaged over an example's target tokens (SST-2 and RTE
answers are one token: exactly TRAK's text-classification output), and 1 - p its out-to-loss factor (the
mean over the target tokens). A positive score means that training on z raises f, i.e. lowers the test
example's loss: the sign of TracIn-CP's dot products. `trak_self_scores` scores each example against
itself (the diagonal of traker's scores of a set against itself, >= 0; lib/attribution/self_influence.py).

Settings. One model state (the final model of a run) instead of TRAK's ensemble of independently trained
models; traker's CPU projector (BasicProjector, Gaussian, float32) whose matrix [parameters, proj_dim] is
drawn once; proj_dim = 64, or half the training examples when a run has fewer than 128 (the 64 of a paper-size
generation run: 32), so that Phi^T Phi is invertible without a ridge term (traker's default lambda_reg = 0).
Parameters: those of `TrainedPart`.
"""
from __future__ import annotations

import logging
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch
from trak import TRAKer
from trak.modelout_functions import AbstractModelOutput
from trak.projectors import BasicProjector, ProjectionType

from lib.attribution.batches import BATCH_KEYS, ExampleSet
from lib.attribution.result import AttributionResult
from lib.attribution.self_influence import SelfInfluence
from lib.attribution.trained_part import TrainedPart


DEFAULT_PROJ_DIM = 64
"""TRAK's projection size unless a run has fewer than twice as many featurized examples."""


@dataclass(frozen=True)
class TRAKSettings:
    """traker settings: projection size (None: `DEFAULT_PROJ_DIM`, at most half the featurized examples) and seed,
    batch size of the per-example gradients, ridge term."""

    proj_dim: int | None = None
    seed: int = 0
    batch_size: int = 8
    lambda_reg: float = 0.0

    def resolved(self, examples: int) -> "TRAKSettings":
        """These settings with the projection size fixed for `examples` featurized examples."""
        if self.proj_dim is not None:
            return self
        return replace(self, proj_dim=max(1, min(DEFAULT_PROJ_DIM, examples // 2)))


def _margins(logp_target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean over target tokens of log(p / (1 - p)); padding slots (weight 0) count 0."""
    margin = logp_target - torch.log(-torch.expm1(logp_target))
    return (torch.where(weights > 0, margin, torch.zeros_like(margin)) * weights).sum(dim=-1)


class MarginOutput(AbstractModelOutput):
    """TRAK's model output of a target sequence: its mean per-token margin; out-to-loss factor 1 - p."""

    def __init__(self) -> None:
        super().__init__()

    @staticmethod
    def get_output(model: TrainedPart, weights, buffers, states, mask, positions, targets, token_weights) -> torch.Tensor:
        """f(z) for one example (no batch dimension: traker vmaps over the examples).

        Without the attention mask: the model's mask code branches on its values, which vmap cannot trace, and
        with right padding and causal attention no target position attends to a padding position anyway.
        """
        args = (states[None], None, positions[None])
        logits = torch.func.functional_call(model, (weights, buffers), args)
        logp = torch.log_softmax(logits, dim=-1)[0].gather(-1, targets[:, None])[:, 0]
        return _margins(logp, token_weights)

    def get_out_to_loss_grad(self, model: TrainedPart, weights, buffers, batch) -> torch.Tensor:
        """1 - p of the target tokens, averaged over each example's targets: [B, 1]."""
        states, mask, positions, targets, token_weights = batch
        with torch.no_grad():
            logits = torch.func.functional_call(model, (weights, buffers), (states, mask, positions))
            p = torch.softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]
        return ((1 - p) * token_weights).sum(dim=1, keepdim=True)


@contextmanager
def _featurized(part: TrainedPart, train: ExampleSet, settings: TRAKSettings):
    """A TRAKer of the part (in eval mode) with `train` featurized and finalized, ready to score targets.

    Yields (traker, checkpoint, seconds {"fit"}); traker's files live in a temporary folder, deleted afterwards.
    `settings` must be resolved (a projection size given).
    """
    if settings.proj_dim >= len(train) and settings.lambda_reg == 0:
        raise ValueError(f"proj_dim {settings.proj_dim} >= {len(train)} training examples: Phi^T Phi is singular; "
                         "use a smaller proj_dim or lambda_reg > 0")
    was_training = part.training
    part.eval()
    logging.getLogger("TRAK").setLevel(logging.WARNING)
    try:
        with tempfile.TemporaryDirectory(prefix="trak-") as folder:
            t0 = time.perf_counter()
            projector = BasicProjector(grad_dim=_grad_dim(part), proj_dim=settings.proj_dim, seed=settings.seed,
                                       proj_type=ProjectionType.normal, device="cpu", block_size=settings.proj_dim,
                                       dtype=torch.float32)
            traker = TRAKer(model=part, task=MarginOutput(), train_set_size=len(train), save_dir=folder, device="cpu",
                            projector=projector, use_half_precision=False, lambda_reg=settings.lambda_reg,
                            logging_level=logging.WARNING)
            checkpoint = part.state_dict()
            traker.load_checkpoint(checkpoint, model_id=0)
            for batch in train.batches(settings.batch_size):
                traker.featurize(batch=[batch[k] for k in BATCH_KEYS], num_samples=int(batch["states"].shape[0]))
            traker.finalize_features()
            # traker 0.3.2 frees a one-block projector's matrix in finalize_features and never redraws it before
            # scoring: redraw it (the same seed, so the same matrix)
            projector.generate_sketch_matrix(projector.generator_states[0])
            yield traker, checkpoint, {"fit": time.perf_counter() - t0}
    finally:
        part.train(was_training)


def _grad_dim(part: TrainedPart) -> int:
    """Number of parameters TRAK differentiates."""
    return int(sum(p.numel() for p in part.parameters()))


def _score_targets(traker: TRAKer, checkpoint, targets: ExampleSet, settings: TRAKSettings, name: str) -> np.ndarray:
    """Scores [featurized examples, targets] of the featurized examples for each target."""
    traker.start_scoring_checkpoint(exp_name=name, checkpoint=checkpoint, model_id=0, num_targets=len(targets))
    for batch in targets.batches(settings.batch_size):
        traker.score(batch=[batch[k] for k in BATCH_KEYS], num_samples=int(batch["states"].shape[0]))
    return np.asarray(traker.finalize_scores(exp_name=name), dtype=np.float64)


def _info(part: TrainedPart, settings: TRAKSettings, cpu0: float) -> dict:
    """What a TRAK result records about how it was made."""
    return {"method": "trak", "parameters": _grad_dim(part), "projection": "normal",
            "cpu_seconds": time.process_time() - cpu0, **settings.__dict__}


def trak_scores(part: TrainedPart, train: ExampleSet, tests: ExampleSet,
                settings: TRAKSettings = TRAKSettings()) -> AttributionResult:
    """TRAK scores of every training example for every test example at the part's current weights (one model)."""
    cpu0 = time.process_time()
    settings = settings.resolved(len(train))
    with _featurized(part, train, settings) as (traker, checkpoint, seconds):
        t0 = time.perf_counter()
        scores = _score_targets(traker, checkpoint, tests, settings, "tests")  # [n_train, n_tests]
        seconds["score"] = time.perf_counter() - t0
    return AttributionResult(scores=scores, train_ids=np.array(train.ids), test_ids=np.array(tests.ids),
                             seconds=seconds, info=_info(part, settings, cpu0))


def trak_self_scores(part: TrainedPart, examples: ExampleSet,
                     settings: TRAKSettings = TRAKSettings()) -> SelfInfluence:
    """TRAK self-influence phi(z)^T (Phi^T Phi)^{-1} phi(z) (1 - p(z)) of every example: traker has no self-score,
    so the examples are featurized and scored as targets, and the diagonal is kept; >= 0, larger = more suspicious."""
    cpu0 = time.process_time()
    settings = settings.resolved(len(examples))
    with _featurized(part, examples, settings) as (traker, checkpoint, seconds):
        t0 = time.perf_counter()
        scores = np.diag(_score_targets(traker, checkpoint, examples, settings, "self")).copy()
        seconds["score"] = time.perf_counter() - t0
    info = {**_info(part, settings, cpu0), "curvature": "the scored examples"}
    return SelfInfluence(scores=scores, ids=np.array(examples.ids), seconds=seconds, info=info)
