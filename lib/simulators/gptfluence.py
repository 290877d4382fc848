"""GPTfluence (Chai/Liu et al. 2024): a featurized n-th order simulator over frozen-encoder embeddings."""
from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
import torch

from lib.dynamics import Dynamics
from lib.metrics import all_steps_mse
from lib.simulators.base import Simulator
from lib.simulators.denormals import flushed_denormals
from lib.simulators.features import TextFeatures
from lib.simulators.health import selection_score
from lib.simulators.rollout import rollout
from lib.simulators.towers import FactorTowers

if TYPE_CHECKING:
    from lib.encoders import Encoder


@dataclass(frozen=True)
class GPTfluenceConfig:
    """Hyperparameters of GPTfluence; defaults follow the paper's fine-tuning setting (Table 8).

    l2 multiplies the squared norm of all trainable parameters, added to the batch MSE (eq. 9);
    AdamW's own weight decay is off unless `weight_decay` is set. As the official code, one
    training sample is one teacher-forced (run, step, test example) transition and a batch holds
    `batch_size` of them (warmup_steps and the decay count these batches); batch_size=None makes
    every epoch one AdamW step on the MSE of all transitions (full batch: the same objective, and
    on 25 runs x 96 steps x 64 tests the towers then run once per step instead of 1,188 times).
    shared=True applies one MLP per factor to both sides (official code); False uses separate
    training-side and test-side towers. normalize_features=True scales every embedding to unit norm (see
    TextFeatures), so no encoder's scale makes the first rollouts explode.
    """

    order: int = 1
    hidden: int = 384
    shared: bool = True
    l2: float = 1e-5
    lr: float = 1e-4
    weight_decay: float = 0.0
    batch_size: int | None = 128
    max_epochs: int = 300
    patience: int = 10
    warmup_steps: int = 200
    seed: int = 42
    device: str = "cpu"
    normalize_features: bool = True

    def __post_init__(self) -> None:
        """Refuse values that cannot train."""
        for name in ("order", "hidden", "max_epochs", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"GPTfluenceConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size is not None and self.batch_size < 1:  # None: every transition in one batch
            raise ValueError(f"GPTfluenceConfig.batch_size must be >= 1 or None (full batch), got {self.batch_size}")
        for name in ("l2", "weight_decay", "warmup_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"GPTfluenceConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"GPTfluenceConfig.lr must be > 0, got {self.lr}")


class GPTfluence(Simulator):
    """`y_t = sum_j alpha_j(c_t) y_{t-j} + beta(c_t)` with A_ij = <f_j(h_i), g_j(h')>, B_i = <f'(h_i), g'(h')>.

    h = frozen encoder features of the examples' texts, so it simulates unseen training and test
    examples too. Construct with `GPTfluence(encoder, config)` or keyword overrides of
    GPTfluenceConfig, e.g. `GPTfluence(encoder, order=2, lr=1e-3)`. Early stopping pools all
    validation runs and ranks epochs by diverged rollouts first, then by the all-steps MSE of the
    others (`lib.simulators.health`); its patience counts only epochs after the learning-rate
    warm-up, which spans many epochs when there are few transitions. After fit: history_ (epoch, train_mse, val_mse of all
    trajectories, val_diverged, val_kept_mse of the others, seconds), best_epoch_ (the kept one).
    """

    def __init__(self, encoder: Encoder | str, config: GPTfluenceConfig | None = None, **overrides):
        config = config or GPTfluenceConfig()
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(GPTfluenceConfig)})
        if unknown:
            raise ValueError(f"unknown GPTfluence options {unknown}; see GPTfluenceConfig")
        self.config = dataclasses.replace(config, **overrides)
        self.order = self.config.order
        self.features = TextFeatures(encoder, self.config.normalize_features)
        self.device = torch.device(self.config.device)
        generator = torch.Generator().manual_seed(self.config.seed)
        dim, hidden, factors = self.features.encoder.dim, self.config.hidden, self.order + 1
        self.train_towers = FactorTowers(factors, dim, hidden, generator).to(self.device)
        self.test_towers = (
            self.train_towers if self.config.shared else FactorTowers(factors, dim, hidden, generator).to(self.device)
        )

    @property
    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self._parameters())

    @flushed_denormals()  # Adam's moments of dead units decay into denormals, slow on a CPU
    def fit(self, train: Dynamics, val: Dynamics | None = None) -> "GPTfluence":
        """Train on teacher-forced transitions; with `val`, stop early on its rollout all-steps MSE and keep the best."""
        cfg = self.config
        self._remember_metric(train, val)
        for dynamics in (train, val):
            if dynamics is not None:
                self.features.remember(dynamics)
        val = val if val is not None and val.n_runs else None
        epochs = _MiniBatches(self, train) if cfg.batch_size is not None else _FullBatch(self, train, val)
        optimizer = self._optimizer()
        scheduler = _linear_schedule(optimizer, cfg.warmup_steps, cfg.max_epochs * epochs.steps_per_epoch)
        history, best, best_state, stale, start = [], (math.inf, math.inf), None, 0, time.perf_counter()
        for epoch in range(1, cfg.max_epochs + 1):
            train_mse = epochs.train(optimizer, scheduler)
            val_mse, score = math.nan, (0, math.nan)
            if val is not None:
                pred = epochs.validation_prediction(val)
                val_mse = all_steps_mse(pred, val.values, self.order)[0]
                score = selection_score(pred, val.values, self.metric_, self.band_, self.order)
            history.append(dict(epoch=epoch, train_mse=train_mse, val_mse=val_mse, val_diverged=score[0],
                                val_kept_mse=score[1], seconds=time.perf_counter() - start))
            if val is None:
                continue
            if score < best:
                best, stale = score, 0
                best_state = copy.deepcopy((self.train_towers.state_dict(), self.test_towers.state_dict()))
                self.best_epoch_ = epoch
            else:  # patience counts after the warm-up only
                stale += epoch * epochs.steps_per_epoch >= cfg.warmup_steps
                if stale >= cfg.patience:
                    break
        if best_state is not None:
            self.train_towers.load_state_dict(best_state[0])
            self.test_towers.load_state_dict(best_state[1])
        else:
            self.best_epoch_ = history[-1]["epoch"]
        self.history_ = pd.DataFrame(history)
        return self

    def factors(self, train_ids: Sequence[int], test_ids: Sequence[int],
                texts_from: Dynamics | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A [n_train, order, n_tests] and B [n_train, n_tests]; texts from fit/simulate data or `texts_from`."""
        if texts_from is not None:
            self.features.remember(texts_from)
        with torch.inference_mode():
            train_h = self._tensor(self.features.embed(np.asarray(train_ids), "train"))
            test_h = self._tensor(self.features.embed(np.asarray(test_ids), "test"))
            products = self._pair_factors(train_h, test_h).permute(1, 0, 2).double().cpu().numpy()
        return products[:, : self.order], products[:, self.order]

    def self_influence(self, train: Dynamics | Sequence[int]) -> dict[int, float]:
        """A_{i,i}: the order-1 multiplicative factor of each training example on itself (z' = z_i)."""
        if isinstance(train, Dynamics):
            self.features.remember(train)
            ids = train.train_ids
        else:
            ids = np.asarray(train)
        with torch.inference_mode():
            h = self._tensor(self.features.embed(ids, "train"))
            scores = (self.train_towers(h)[0] * self.test_towers(h)[0]).sum(-1).double().cpu().numpy()
        return dict(zip(ids.tolist(), scores.tolist()))

    def _coefficients(self, runs: Dynamics) -> tuple[np.ndarray, np.ndarray]:
        """alpha_j(c_t) = sum_{i in c_t} <f_j(h_i), g_j(h')> for all runs, steps and tests at once."""
        self.features.remember(runs)
        train_ids = runs.train_ids
        rows = torch.as_tensor(np.searchsorted(train_ids, runs.curricula), device=self.device)
        with torch.inference_mode():
            pairs = self._pair_factors(self._tensor(self.features.embed(train_ids, "train")),
                                       self._tensor(self.features.embed(runs.test_ids, "test")))
            return self._step_factors(pairs, rows)

    def _step_factors(self, pairs: torch.Tensor, rows: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """alpha [runs, steps, order, tests] and beta [runs, steps, tests] (float64) of pair factors [K, n, tests] and
        the rows [runs, steps, B] of each step's batch."""
        factors = pairs[:, rows].sum(dim=3).permute(1, 2, 0, 3).double().cpu().numpy()  # [runs, steps, K, tests]
        return factors[:, :, : self.order], factors[:, :, self.order]

    def _predict_transitions(self, train_h: torch.Tensor, test_h: torch.Tensor, rows: torch.Tensor,
                             tests: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """Teacher-forced predictions [b] of b transitions: batch rows [b, B], test indices [b], previous [b, order].

        The towers see only the distinct training and test examples of these transitions, once each.
        """
        train_used, rows = torch.unique(rows, return_inverse=True)
        test_used, tests = torch.unique(tests, return_inverse=True)
        pairs = self._pair_factors(train_h[train_used], test_h[test_used])  # [K, n, m]
        factors = pairs[:, rows, tests[:, None]].sum(dim=-1)  # [K, b]
        return (factors[: self.order].T * previous).sum(dim=1) + factors[self.order]

    def _pair_factors(self, train_h: torch.Tensor, test_h: torch.Tensor) -> torch.Tensor:
        """<f_k(h_i), g_k(h'_j)> [K, n, m] of n training and m test feature rows (A for k < order, B last).

        Shared towers run their first layer once over both sides; the training side's outputs are never
        formed (`FactorTowers.inner_products`).
        """
        if self.config.shared:
            hidden = self.train_towers.hidden_layer(torch.cat([train_h, test_h]))
            train_hidden, test_hidden = hidden.split([len(train_h), len(test_h)], dim=1)
        else:
            train_hidden, test_hidden = self.train_towers.hidden_layer(train_h), self.test_towers.hidden_layer(test_h)
        return self.train_towers.inner_products(train_hidden, self.test_towers.output(test_hidden))

    def _optimizer(self) -> torch.optim.Optimizer:
        """AdamW over both towers (the fused implementation: the same update in one pass per tensor)."""
        return torch.optim.AdamW(self._parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay,
                                 fused=True)

    def _training_step(self, optimizer: torch.optim.Optimizer, train_h: torch.Tensor, test_h: torch.Tensor,
                       rows: torch.Tensor, tests: torch.Tensor, previous: torch.Tensor, target: torch.Tensor) -> float:
        """One optimizer step on the L2-regularized MSE of a batch of transitions (eq. 9); returns the batch MSE."""
        mse = torch.mean((self._predict_transitions(train_h, test_h, rows, tests, previous) - target) ** 2)
        return self._descend(optimizer, mse)

    def _full_batch_mse(self, pairs: torch.Tensor, rows: torch.Tensor, previous: torch.Tensor,
                        target: torch.Tensor) -> torch.Tensor:
        """MSE of every teacher-forced transition from pair factors [K, n, tests]: rows [S, B] of each (run, step)'s
        batch, previous [S, order, tests], target [S, tests]. Each batch's factors are summed by an embedding bag."""
        n_factors, n_train, n_tests = pairs.shape
        table = pairs.permute(1, 0, 2).reshape(n_train, n_factors * n_tests)
        factors = torch.nn.functional.embedding_bag(rows, table, mode="sum").view(-1, n_factors, n_tests)
        pred = (factors[:, : self.order] * previous).sum(dim=1) + factors[:, self.order]
        return torch.mean((pred - target) ** 2)

    def _descend(self, optimizer: torch.optim.Optimizer, mse: torch.Tensor) -> float:
        """Backpropagate `mse`, add the L2 penalty's gradient and step; returns the MSE."""
        optimizer.zero_grad()
        mse.backward()
        if self.config.l2:  # the penalty's gradient 2 * l2 * p, added directly rather than through the graph
            with torch.no_grad():
                for p in self._parameters():
                    p.grad.add_(p, alpha=2 * self.config.l2)
        optimizer.step()
        return mse.item()

    def _transitions(self, train: Dynamics, train_ids: np.ndarray) -> tuple[torch.Tensor, ...]:
        """Teacher-forced transitions t = order..T of every run: batch rows, y_{t-1..t-order}, and y_t."""
        n, steps = self.order, train.n_steps
        rows = np.searchsorted(train_ids, train.curricula[:, n - 1 :])  # batch of step t is curricula[:, t - 1]
        previous = np.stack([train.values[:, n - j : steps + 1 - j] for j in range(1, n + 1)], axis=2)
        target = train.values[:, n:]
        return (
            torch.as_tensor(rows.reshape(-1, train.batch_size), device=self.device),
            self._tensor(previous.reshape(-1, n, train.n_tests)),
            self._tensor(target.reshape(-1, train.n_tests)),
        )

    def _parameters(self) -> list[torch.nn.Parameter]:
        """Trainable parameters of both towers, each once."""
        towers = [self.train_towers] if self.config.shared else [self.train_towers, self.test_towers]
        return [p for tower in towers for p in tower.parameters()]

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        """float32 tensor on the configured device."""
        return torch.as_tensor(np.asarray(array, dtype=np.float32), device=self.device)


class _MiniBatches:
    """Epochs of `batch_size` teacher-forced transitions per step, shuffled by a generator seeded with the fit's seed
    (the official code's training); the validation rollout is a fresh `simulate`."""

    def __init__(self, model: GPTfluence, train: Dynamics):
        self.model, self.batch_size = model, model.config.batch_size
        self.train_h = model._tensor(model.features.embed(train.train_ids, "train"))
        self.test_h = model._tensor(model.features.embed(train.test_ids, "test"))
        self.rows, self.previous, self.target = model._transitions(train, train.train_ids)
        self.steps_per_epoch = math.ceil(self.target.numel() / self.batch_size)
        self.generator = torch.Generator().manual_seed(model.config.seed)

    def train(self, optimizer: torch.optim.Optimizer, scheduler) -> float:
        """One epoch; returns its mean training MSE over the transitions."""
        n_samples, n_tests, total = self.target.numel(), self.target.shape[1], 0.0
        for batch in torch.randperm(n_samples, generator=self.generator).split(self.batch_size):
            step, test = batch // n_tests, batch % n_tests
            total += len(batch) * self.model._training_step(optimizer, self.train_h, self.test_h, self.rows[step], test,
                                                            self.previous[step, :, test], self.target[step, test])
            scheduler.step()
        return total / n_samples

    def validation_prediction(self, val: Dynamics) -> np.ndarray:
        """The rollout of the validation runs at the current parameters."""
        return self.model.simulate(val)


class _FullBatch:
    """Full-batch epochs (batch_size=None), one AdamW step each, with one pass of the towers per epoch.

    The pair factors computed after an update serve twice: the validation rollout of that epoch (detached) and the
    next epoch's step (with their graph), because both use the same parameters. The towers run over the training
    examples of the training and validation runs together; a validation set with other test examples is simulated
    apart (`GPTfluence.simulate`).
    """

    steps_per_epoch = 1

    def __init__(self, model: GPTfluence, train: Dynamics, val: Dynamics | None):
        self.model = model
        ids = train.train_ids if val is None else np.union1d(train.train_ids, val.train_ids)
        self.train_h = model._tensor(model.features.embed(ids, "train"))
        self.test_h = model._tensor(model.features.embed(train.test_ids, "test"))
        self.rows, self.previous, self.target = model._transitions(train, ids)
        self.val_rows = None
        if val is not None and np.array_equal(val.test_ids, train.test_ids):
            model._check_runs(val)
            self.val_rows = torch.as_tensor(np.searchsorted(ids, val.curricula), device=model.device)
        self.pairs = model._pair_factors(self.train_h, self.test_h)

    def train(self, optimizer: torch.optim.Optimizer, scheduler) -> float:
        """One AdamW step on every transition, then the towers' pass at the new parameters; returns the step's MSE."""
        mse = self.model._full_batch_mse(self.pairs, self.rows, self.previous, self.target)
        value = self.model._descend(optimizer, mse)
        scheduler.step()
        self.pairs = self.model._pair_factors(self.train_h, self.test_h)
        return value

    def validation_prediction(self, val: Dynamics) -> np.ndarray:
        """The rollout of the validation runs at the current parameters: `simulate(val)` from this epoch's pass."""
        if self.val_rows is None:
            return self.model.simulate(val)
        with torch.no_grad():
            alpha, beta = self.model._step_factors(self.pairs.detach(), self.val_rows)
        return rollout(alpha, beta, val.values[:, : self.model.order])


def _linear_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over `warmup` steps, then linear decay to 0 at `total` steps."""
    warmup = min(warmup, total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
