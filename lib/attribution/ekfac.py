"""EK-FAC influence scores (Grosse et al. 2023) of every (training, test) pair, computed with kronfluence.

kronfluence approximates the Gauss-Newton Hessian of the training loss per nn.Linear layer with
eigenvalue-corrected Kronecker factors (EK-FAC), fitted on the training examples with labels sampled
from the model (the true Fisher), and scores a pair as grad f(z')^T (G + lambda I)^{-1} grad L(z), with
f the test example's loss and kronfluence's damping heuristic lambda = 0.1 x the mean eigenvalue.
Upweighting z moves theta by -H^{-1} grad L(z), so a positive score means that training on z lowers
the test loss: the sign of TracIn-CP's dot products. `ekfac_self_scores` scores each example against
itself (kronfluence's self-influence, >= 0; lib/attribution/self_influence.py).

Which parameters. The nn.Linear layers of the trained part (lib/attribution/trained_part.py, which leaves
out SmolLM2's 49,152-way head) with both sides <= `max_factor_dim` (the result names any it skipped).
Norm weights are not nn.Linear and are not covered (kronfluence supports Linear and Conv2d only).
"""
from __future__ import annotations

import copy
import logging
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from kronfluence.analyzer import Analyzer, prepare_model
from kronfluence.arguments import FactorArguments, ScoreArguments
from kronfluence.task import Task
from kronfluence.utils.dataset import DataLoaderKwargs

from lib.attribution.batches import ExampleSet
from lib.attribution.result import AttributionResult
from lib.attribution.self_influence import SelfInfluence
from lib.attribution.trained_part import TrainedPart


@dataclass(frozen=True)
class EKFACSettings:
    """kronfluence settings: EK-FAC on the true Fisher, its damping heuristic, layers with both sides <= max_factor_dim."""

    strategy: str = "ekfac"
    max_factor_dim: int = 4096
    batch_size: int = 8
    damping_factor: float | None = None  # None: kronfluence's heuristic (0.1 x mean eigenvalue)
    use_empirical_fisher: bool = False  # False: labels sampled from the model (true Fisher), as Grosse et al.
    seed: int = 0  # the sampled labels


class _MeanNLLTask(Task):
    """kronfluence's task: the summed per-example mean target NLL as training loss and as measurement."""

    def __init__(self, tracked: list[str]):
        self.tracked = tracked

    def compute_train_loss(self, batch, model: TrainedPart, sample: bool = False) -> torch.Tensor:
        """Summed example losses; with `sample`, of targets drawn from the model's own predictions (true Fisher)."""
        if not sample:
            return model.example_losses(batch).sum()
        logits = model(batch["states"], batch["mask"], batch["positions"])
        with torch.no_grad():
            drawn = torch.multinomial(torch.softmax(logits.detach().flatten(0, 1), dim=-1), 1).view(logits.shape[:2])
        logp = torch.log_softmax(logits, dim=-1).gather(-1, drawn[..., None])[..., 0]
        return -(logp * batch["weights"]).sum()

    def compute_measurement(self, batch, model: TrainedPart) -> torch.Tensor:
        """The test examples' losses (summed: kronfluence takes per-example gradients of the sum)."""
        return model.example_losses(batch).sum()

    def get_influence_tracked_modules(self) -> list[str]:
        """The Linear layers whose factors fit in memory."""
        return self.tracked

    def get_attention_mask(self, batch) -> dict[str, torch.Tensor]:
        """Padding masks: sequence positions for the blocks' layers, target slots for the head."""
        return {name: (batch["weights"] > 0).long() if name == "head" else batch["mask"] for name in self.tracked}


@contextmanager
def _fitted_analyzer(part: TrainedPart, fit_on: ExampleSet, settings: EKFACSettings):
    """A kronfluence Analyzer of a copy of the part with EK-FAC factors "factors" fitted on `fit_on`.

    Yields (analyzer, tracked modules, skipped modules, seconds {"fit"}); the factors live in a temporary
    folder, deleted afterwards. The copy: kronfluence freezes and wraps the modules of the model it is given.
    """
    tracked, skipped = part.linear_modules(settings.max_factor_dim)
    if not tracked:
        raise ValueError(f"no nn.Linear layer of at most {settings.max_factor_dim} per side to fit EK-FAC factors on")
    task = _MeanNLLTask(tracked)
    model = prepare_model(copy.deepcopy(part), task)
    factor_args = FactorArguments(strategy=settings.strategy, use_empirical_fisher=settings.use_empirical_fisher)
    logging.getLogger("kronfluence").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ekfac-") as folder, torch.random.fork_rng(devices=[]), \
            warnings.catch_warnings():
        # kronfluence 1.0.1 builds torch.cuda.amp.GradScaler (disabled on the CPU), which torch flags as deprecated
        # once per factor fit: noise in every log, nothing the user can act on
        warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.GradScaler\(args\.\.\.\)` is deprecated",
                                category=FutureWarning)
        torch.manual_seed(settings.seed)
        analyzer = Analyzer("scores", model=model, task=task, cpu=True, disable_tqdm=True, output_dir=folder)
        analyzer.set_dataloader_kwargs(DataLoaderKwargs(collate_fn=ExampleSet.collate))
        t0 = time.perf_counter()
        analyzer.fit_all_factors("factors", dataset=fit_on, per_device_batch_size=settings.batch_size,
                                 factor_args=factor_args, overwrite_output_dir=True)
        yield analyzer, tracked, skipped, {"fit": time.perf_counter() - t0}


def _tracked_parameters(part: TrainedPart, tracked: list[str]) -> int:
    """Parameters of the tracked Linear layers."""
    return int(sum(p.numel() for name, p in part.named_parameters() if any(name.startswith(t + ".") for t in tracked)))


def ekfac_scores(part: TrainedPart, train: ExampleSet, tests: ExampleSet,
                 settings: EKFACSettings = EKFACSettings()) -> AttributionResult:
    """EK-FAC influence of every training example on every test example's loss, at the part's current weights.

    Works on a copy of the model; the factors are fitted on `train`.
    """
    cpu0 = time.process_time()
    score_args = ScoreArguments(damping_factor=settings.damping_factor)
    with _fitted_analyzer(part, train, settings) as (analyzer, tracked, skipped, seconds):
        t0 = time.perf_counter()
        analyzer.compute_pairwise_scores("pairwise", factors_name="factors", query_dataset=tests, train_dataset=train,
                                         per_device_query_batch_size=settings.batch_size,
                                         per_device_train_batch_size=settings.batch_size, score_args=score_args,
                                         overwrite_output_dir=True)
        scores = analyzer.load_pairwise_scores("pairwise")["all_modules"]  # [n_tests, n_train]
        seconds["score"] = time.perf_counter() - t0
    return AttributionResult(
        scores=scores.double().numpy().T.copy(), train_ids=np.array(train.ids), test_ids=np.array(tests.ids),
        seconds=seconds, info={"method": "ekfac", "tracked_modules": tracked, "skipped_modules": skipped,
                               "tracked_parameters": _tracked_parameters(part, tracked),
                               "cpu_seconds": time.process_time() - cpu0, **settings.__dict__})


def ekfac_self_scores(part: TrainedPart, examples: ExampleSet,
                      settings: EKFACSettings = EKFACSettings()) -> SelfInfluence:
    """EK-FAC self-influence grad L(z)^T (G + lambda I)^{-1} grad L(z) of every example (kronfluence's
    `compute_self_scores`), with the factors fitted on the same examples; >= 0, larger = more suspicious."""
    cpu0 = time.process_time()
    score_args = ScoreArguments(damping_factor=settings.damping_factor)
    with _fitted_analyzer(part, examples, settings) as (analyzer, tracked, skipped, seconds):
        t0 = time.perf_counter()
        analyzer.compute_self_scores("self", factors_name="factors", train_dataset=examples,
                                     per_device_train_batch_size=settings.batch_size, score_args=score_args,
                                     overwrite_output_dir=True)
        scores = analyzer.load_self_scores("self")["all_modules"]  # [n]
        seconds["score"] = time.perf_counter() - t0
    return SelfInfluence(
        scores=scores.double().numpy().copy(), ids=np.array(examples.ids), seconds=seconds,
        info={"method": "ekfac", "tracked_modules": tracked, "skipped_modules": skipped,
              "tracked_parameters": _tracked_parameters(part, tracked), "curvature": "the scored examples",
              "cpu_seconds": time.process_time() - cpu0, **settings.__dict__})
