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
from lib.simulators.features import TextFeatures
from lib.simulators.health import selection_score
from lib.simulators.towers import FactorTowers

if TYPE_CHECKING:
    from lib.encoders import Encoder


@dataclass(frozen=True)
class GPTfluenceConfig:
    """Hyperparameters of GPTfluence; defaults follow the paper's fine-tuning setting (Table 8).

    l2 multiplies the squared norm of all trainable parameters, added to the batch MSE (eq. 9);
    AdamW's own weight decay is off unless `weight_decay` is set. As the official code, one
    training sample is one teacher-forced (run, step, test example) transition and a batch holds
    `batch_size` of them (warmup_steps and the decay count these batches). shared=True applies
    one MLP per factor to both sides (official code); False uses separate training-side and
    test-side towers. normalize_features=True scales every embedding to unit norm (see
    TextFeatures), so no encoder's scale makes the first rollouts explode.
    """

    order: int = 1
    hidden: int = 384
    shared: bool = True
    l2: float = 1e-5
    lr: float = 1e-4
    weight_decay: float = 0.0
    batch_size: int = 128
    max_epochs: int = 300
    patience: int = 10
    warmup_steps: int = 200
    seed: int = 42
    device: str = "cpu"
    normalize_features: bool = True

    def __post_init__(self) -> None:
        """Refuse values that cannot train."""
        for name in ("order", "hidden", "batch_size", "max_epochs", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"GPTfluenceConfig.{name} must be >= 1, got {getattr(self, name)}")
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

    def fit(self, train: Dynamics, val: Dynamics | None = None) -> "GPTfluence":
        """Train on teacher-forced transitions; with `val`, stop early on its rollout all-steps MSE and keep the best."""
        cfg = self.config
        self._remember_metric(train, val)
        for dynamics in (train, val):
            if dynamics is not None:
                self.features.remember(dynamics)
        train_ids = train.train_ids
        train_h = self._tensor(self.features.embed(train_ids, "train"))
        test_h = self._tensor(self.features.embed(train.test_ids, "test"))
        rows, previous, target = self._transitions(train, train_ids)
        n_tests = target.shape[1]
        n_samples = target.numel()  # (run, step, test example) transitions
        batches_per_epoch = math.ceil(n_samples / cfg.batch_size)
        optimizer = torch.optim.AdamW(self._parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        scheduler = _linear_schedule(optimizer, cfg.warmup_steps, cfg.max_epochs * batches_per_epoch)
        generator = torch.Generator().manual_seed(cfg.seed)
        history, best, best_state, stale, start = [], (math.inf, math.inf), None, 0, time.perf_counter()
        for epoch in range(1, cfg.max_epochs + 1):
            total = 0.0
            for batch in torch.randperm(n_samples, generator=generator).split(cfg.batch_size):
                step, test = batch // n_tests, batch % n_tests
                predicted = self._predict_transitions(train_h, test_h, rows[step], test, previous[step, :, test])
                mse = torch.mean((predicted - target[step, test]) ** 2)
                loss = mse + cfg.l2 * sum(p.pow(2).sum() for p in self._parameters())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += mse.item() * len(batch)
            val_mse, score = math.nan, (0, math.nan)
            if val is not None and val.n_runs:
                pred = self.simulate(val)
                val_mse = all_steps_mse(pred, val.values, self.order)[0]
                score = selection_score(pred, val.values, self.metric_, self.band_, self.order)
            history.append(dict(epoch=epoch, train_mse=total / n_samples, val_mse=val_mse, val_diverged=score[0],
                                val_kept_mse=score[1], seconds=time.perf_counter() - start))
            if val is None or not val.n_runs:
                continue
            if score < best:
                best, stale = score, 0
                best_state = copy.deepcopy((self.train_towers.state_dict(), self.test_towers.state_dict()))
                self.best_epoch_ = epoch
            else:
                stale += epoch * batches_per_epoch >= cfg.warmup_steps  # patience counts after the warm-up only
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
        with torch.no_grad():
            f = self.train_towers(self._tensor(self.features.embed(np.asarray(train_ids), "train")))
            g = self.test_towers(self._tensor(self.features.embed(np.asarray(test_ids), "test")))
            products = torch.einsum("kih,kmh->ikm", f, g).double().cpu().numpy()
        return products[:, : self.order], products[:, self.order]

    def self_influence(self, train: Dynamics | Sequence[int]) -> dict[int, float]:
        """A_{i,i}: the order-1 multiplicative factor of each training example on itself (z' = z_i)."""
        if isinstance(train, Dynamics):
            self.features.remember(train)
            ids = train.train_ids
        else:
            ids = np.asarray(train)
        with torch.no_grad():
            h = self._tensor(self.features.embed(ids, "train"))
            scores = (self.train_towers(h)[0] * self.test_towers(h)[0]).sum(-1).double().cpu().numpy()
        return dict(zip(ids.tolist(), scores.tolist()))

    def _coefficients(self, runs: Dynamics) -> tuple[np.ndarray, np.ndarray]:
        """alpha_j(c_t) = <sum_{i in c_t} f_j(h_i), g_j(h')> for all runs, steps and tests at once."""
        self.features.remember(runs)
        train_ids = runs.train_ids
        rows = torch.as_tensor(np.searchsorted(train_ids, runs.curricula), device=self.device)
        with torch.no_grad():
            f = self.train_towers(self._tensor(self.features.embed(train_ids, "train")))
            g = self.test_towers(self._tensor(self.features.embed(runs.test_ids, "test")))
            summed = f[:, rows].sum(dim=3)  # [K, runs, steps, hidden]
            factors = torch.einsum("krth,kmh->rtkm", summed, g).double().cpu().numpy()
        return factors[:, :, : self.order], factors[:, :, self.order]

    def _predict_transitions(self, train_h: torch.Tensor, test_h: torch.Tensor, rows: torch.Tensor,
                             tests: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """Teacher-forced predictions [b] of b transitions: batch rows [b, B], test indices [b], previous [b, order]."""
        f = self.train_towers(train_h)
        g = self.test_towers(test_h)
        factors = (f[:, rows].sum(dim=2) * g[:, tests]).sum(dim=-1)  # [K, b]
        return (factors[: self.order].T * previous).sum(dim=1) + factors[self.order]

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


def _linear_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over `warmup` steps, then linear decay to 0 at `total` steps."""
    warmup = min(warmup, total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
