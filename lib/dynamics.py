"""Recorded training runs (curricula and per-step metric values), the data every simulator learns from."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

METRICS = ("loss", "bleu", "rougeL")
SPLITS = ("train", "val", "test")
GRAD_SETTINGS = ("all", "ckpt10", "final")


@dataclass(frozen=True, repr=False)
class Dynamics:
    """Recorded training runs: curricula and per-step metric values of test examples.

    curricula: int64 [runs, steps, batch], the training-example ids of each step's batch.
    values: float64 [runs, steps + 1, tests], the metric of each test example; column 0 is before training.
    steps: int64 [steps + 1], the training-step number of each values column (0..T, or 0,k,2k,.. after thinning).
    grad_dots: setting ("all" | "ckpt10" | "final") -> float [runs, steps, batch, tests],
        <grad L(z_batch_b; theta_ck), grad L(z'_test; theta_ck)> for TracIn-CP / Grad-Dot.
    learning_rates: float [runs, steps], the learning rate eta_t used at each step, or None.
    self_influence: method -> training id -> score (e.g. "tracin").
    Construct with `Dynamics.from_arrays`; selections return new objects and never modify this one.
    """

    curricula: np.ndarray
    values: np.ndarray
    test_ids: np.ndarray
    metric: str
    run_ids: np.ndarray
    split: np.ndarray
    steps: np.ndarray
    train_texts: dict[int, str] = field(default_factory=dict)
    test_texts: dict[int, str] = field(default_factory=dict)
    grad_dots: dict[str, np.ndarray] = field(default_factory=dict)
    learning_rates: np.ndarray | None = None
    self_influence: dict[str, dict[int, float]] = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Normalize dtypes and check every field's shape against curricula and values."""
        curricula = _as_int_array(self.curricula, "curricula")
        if curricula.ndim != 3:
            raise ValueError(f"curricula must be [runs, steps, batch], got shape {curricula.shape}")
        runs, steps, batch = curricula.shape
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 3 or values.shape[:2] != (runs, steps + 1):
            raise ValueError(
                f"values must be [runs, steps + 1, tests] = [{runs}, {steps + 1}, tests] to match "
                f"curricula {curricula.shape}, got shape {values.shape}"
            )
        if not np.isfinite(values).all():
            bad = np.argwhere(~np.isfinite(values))[0]
            raise ValueError(f"values must be finite; values[{bad[0]}, {bad[1]}, {bad[2]}] = {values[tuple(bad)]}")
        tests = values.shape[2]
        test_ids = _as_int_array(self.test_ids, "test_ids")
        if test_ids.shape != (tests,):
            raise ValueError(f"test_ids must have shape ({tests},) to match values {values.shape}, got {test_ids.shape}")
        if len(np.unique(test_ids)) != tests:
            raise ValueError(f"test_ids must be unique, got duplicates {_duplicates(test_ids)}")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        run_ids = _as_int_array(self.run_ids, "run_ids")
        if run_ids.shape != (runs,):
            raise ValueError(f"run_ids must have shape ({runs},) to match curricula {curricula.shape}, got {run_ids.shape}")
        split = np.asarray(self.split, dtype=str)
        if split.shape != (runs,):
            raise ValueError(f"split must have shape ({runs},) to match curricula {curricula.shape}, got {split.shape}")
        unknown = sorted(set(split.tolist()) - set(SPLITS))
        if unknown:
            raise ValueError(f"split entries must be in {SPLITS}, got {unknown}")
        step_numbers = _as_int_array(self.steps, "steps")
        if step_numbers.shape != (steps + 1,):
            raise ValueError(f"steps must have shape ({steps + 1},) to match values {values.shape}, got {step_numbers.shape}")
        if np.any(np.diff(step_numbers) <= 0):
            raise ValueError(f"steps must be strictly increasing, got {step_numbers.tolist()}")
        grad_dots = {}
        for key, array in self.grad_dots.items():
            if key not in GRAD_SETTINGS:
                raise ValueError(f"grad_dots keys must be in {GRAD_SETTINGS}, got {key!r}")
            array = np.asarray(array, dtype=np.float64)
            if array.shape != (runs, steps, batch, tests):
                raise ValueError(
                    f"grad_dots[{key!r}] must be [runs, steps, batch, tests] = {(runs, steps, batch, tests)}, got {array.shape}"
                )
            infinite = np.isinf(array)
            if infinite.any():  # NaN marks runs that recorded no gradients; an infinity is an overflow
                bad = tuple(int(i) for i in np.argwhere(infinite)[0])
                raise ValueError(f"grad_dots[{key!r}] must be finite or NaN; grad_dots[{key!r}][{', '.join(map(str, bad))}] = {array[bad]}")
            grad_dots[key] = array
        learning_rates = None
        if self.learning_rates is not None:
            learning_rates = np.asarray(self.learning_rates, dtype=np.float64)
            if learning_rates.shape != (runs, steps):
                raise ValueError(f"learning_rates must be [runs, steps] = {(runs, steps)}, got {learning_rates.shape}")
            invalid = ~np.isfinite(learning_rates) | (learning_rates < 0)
            if invalid.any():
                bad = tuple(int(i) for i in np.argwhere(invalid)[0])
                raise ValueError(f"learning_rates must be finite and >= 0; learning_rates[{bad[0]}, {bad[1]}] = {learning_rates[bad]}")
        for name, value in (("curricula", curricula), ("values", values), ("test_ids", test_ids), ("run_ids", run_ids),
                            ("split", split), ("steps", step_numbers), ("grad_dots", grad_dots),
                            ("learning_rates", learning_rates),
                            ("train_texts", {int(k): str(v) for k, v in self.train_texts.items()}),
                            ("test_texts", {int(k): str(v) for k, v in self.test_texts.items()}),
                            ("self_influence", {m: {int(k): float(v) for k, v in s.items()}
                                                for m, s in self.self_influence.items()}),
                            ("config", dict(self.config))):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        """A one-line summary instead of the arrays."""
        splits = {name: int(np.sum(self.split == name)) for name in SPLITS if np.any(self.split == name)}
        return (
            f"Dynamics(metric={self.metric!r}, runs={self.n_runs} {splits}, steps={self.n_steps}, "
            f"batch={self.batch_size}, tests={self.n_tests}, train_ids={len(self.train_ids)}, "
            f"grad_dots={sorted(self.grad_dots)})"
        )

    @classmethod
    def from_arrays(
        cls,
        curricula: np.ndarray,
        values: np.ndarray,
        test_ids: Sequence[int] | np.ndarray,
        metric: str,
        *,
        run_ids: Sequence[int] | np.ndarray | None = None,
        split: Sequence[str] | np.ndarray | None = None,
        steps: Sequence[int] | np.ndarray | None = None,
        train_texts: dict[int, str] | None = None,
        test_texts: dict[int, str] | None = None,
        grad_dots: dict[str, np.ndarray] | None = None,
        learning_rates: np.ndarray | None = None,
        self_influence: dict[str, dict[int, float]] | None = None,
        config: dict | None = None,
    ) -> "Dynamics":
        """Build and validate a Dynamics; run_ids default to 0..runs-1, split to all "train", steps to 0..T."""
        curricula = np.asarray(curricula)
        runs = curricula.shape[0] if curricula.ndim else 0
        n_steps = curricula.shape[1] if curricula.ndim >= 2 else 0
        return cls(
            curricula=curricula,
            values=values,
            test_ids=test_ids,
            metric=metric,
            run_ids=np.arange(runs) if run_ids is None else run_ids,
            split=np.full(runs, "train") if split is None else split,
            steps=np.arange(n_steps + 1) if steps is None else steps,
            train_texts=train_texts or {},
            test_texts=test_texts or {},
            grad_dots=grad_dots or {},
            learning_rates=learning_rates,
            self_influence=self_influence or {},
            config=config or {},
        )

    @property
    def n_runs(self) -> int:
        """Number of recorded runs."""
        return self.curricula.shape[0]

    @property
    def n_steps(self) -> int:
        """Number of training steps T (values has T + 1 columns)."""
        return self.curricula.shape[1]

    @property
    def n_tests(self) -> int:
        """Number of test examples."""
        return self.values.shape[2]

    @property
    def batch_size(self) -> int:
        """Training examples per step."""
        return self.curricula.shape[2]

    @property
    def train_ids(self) -> np.ndarray:
        """Sorted unique training-example ids used by any run's curriculum."""
        return np.unique(self.curricula)

    def select_runs(self, which: np.ndarray | Sequence[int] | Sequence[bool] | str) -> "Dynamics":
        """The runs chosen by an index array, a boolean mask over runs, or a split name ("train" | "val" | "test")."""
        if isinstance(which, str):
            if which not in SPLITS:
                raise ValueError(f"split name must be one of {SPLITS}, got {which!r}")
            index = np.flatnonzero(self.split == which)
        else:
            which = np.asarray(which)
            if which.dtype == bool:
                if which.shape != (self.n_runs,):
                    raise ValueError(f"boolean run mask must have shape ({self.n_runs},), got {which.shape}")
                index = np.flatnonzero(which)
            else:
                index = _as_int_array(np.atleast_1d(which), "run index")
                out_of_range = index[(index < -self.n_runs) | (index >= self.n_runs)]
                if out_of_range.size:
                    raise ValueError(f"run index {out_of_range.tolist()} out of range for {self.n_runs} runs")
        return dataclasses.replace(
            self,
            curricula=self.curricula[index],
            values=self.values[index],
            run_ids=self.run_ids[index],
            split=self.split[index],
            grad_dots={k: v[index] for k, v in self.grad_dots.items()},
            learning_rates=None if self.learning_rates is None else self.learning_rates[index],
        )

    def select_tests(self, test_ids: Sequence[int] | np.ndarray) -> "Dynamics":
        """The given test examples (by id, in the order given)."""
        wanted = _as_int_array(np.atleast_1d(test_ids), "test_ids")
        position = {int(t): i for i, t in enumerate(self.test_ids)}
        unknown = [int(t) for t in wanted if int(t) not in position]
        if unknown:
            raise ValueError(f"unknown test ids {unknown[:10]} (this Dynamics has {self.n_tests} test examples)")
        index = np.array([position[int(t)] for t in wanted], dtype=np.int64)
        kept = set(wanted.tolist())
        return dataclasses.replace(
            self,
            values=self.values[:, :, index],
            test_ids=wanted,
            test_texts={k: v for k, v in self.test_texts.items() if k in kept},
            grad_dots={k: v[..., index] for k, v in self.grad_dots.items()},
        )

    def select_steps(self, n_steps: int) -> "Dynamics":
        """The first `n_steps` training steps of every run (values[:, :n_steps + 1])."""
        if not 1 <= n_steps <= self.n_steps:
            raise ValueError(f"n_steps must be in 1..{self.n_steps}, got {n_steps}")
        return dataclasses.replace(
            self,
            curricula=self.curricula[:, :n_steps],
            values=self.values[:, : n_steps + 1],
            steps=self.steps[: n_steps + 1],
            grad_dots={k: v[:, :n_steps] for k, v in self.grad_dots.items()},
            learning_rates=None if self.learning_rates is None else self.learning_rates[:, :n_steps],
        )

    def every_k_steps(self, k: int) -> "Dynamics":
        """Dynamics recorded every k steps (checkpoint-interval ablation).

        Values are kept at steps 0, k, 2k, ..; a thinned step's batch is the concatenation of
        the k batches it covers (batch size k * B). When T is not a multiple of k the last
        T mod k steps are dropped. grad_dots and learning_rates are per original step and are
        dropped.
        """
        if not 1 <= k <= self.n_steps:
            raise ValueError(f"k must be in 1..{self.n_steps} (the number of steps), got {k}")
        kept_steps = (self.n_steps // k) * k
        return dataclasses.replace(
            self,
            curricula=self.curricula[:, :kept_steps].reshape(self.n_runs, kept_steps // k, k * self.batch_size),
            values=self.values[:, : kept_steps + 1 : k],
            steps=self.steps[: kept_steps + 1 : k],
            grad_dots={},
            learning_rates=None,
        )

    @classmethod
    def concat(cls, parts: Sequence["Dynamics"]) -> "Dynamics":
        """Stack the runs of dynamics that share metric, test ids, step numbers and batch size."""
        if not parts:
            raise ValueError("concat needs at least one Dynamics")
        first = parts[0]
        for i, part in enumerate(parts[1:], start=1):
            if part.metric != first.metric:
                raise ValueError(f"parts[{i}].metric is {part.metric!r}, parts[0].metric is {first.metric!r}")
            if not np.array_equal(part.test_ids, first.test_ids):
                raise ValueError(f"parts[{i}].test_ids differ from parts[0].test_ids")
            if not np.array_equal(part.steps, first.steps):
                raise ValueError(f"parts[{i}].steps {part.steps.tolist()} differ from parts[0].steps {first.steps.tolist()}")
            if part.batch_size != first.batch_size:
                raise ValueError(f"parts[{i}].batch_size is {part.batch_size}, parts[0].batch_size is {first.batch_size}")
        grad_keys = set.intersection(*(set(p.grad_dots) for p in parts))
        with_lr = all(p.learning_rates is not None for p in parts)
        configs = [p.config for p in parts]
        return cls(
            curricula=np.concatenate([p.curricula for p in parts]),
            values=np.concatenate([p.values for p in parts]),
            test_ids=first.test_ids,
            metric=first.metric,
            run_ids=np.concatenate([p.run_ids for p in parts]),
            split=np.concatenate([p.split for p in parts]),
            steps=first.steps,
            train_texts={k: v for p in parts for k, v in p.train_texts.items()},
            test_texts={k: v for p in parts for k, v in p.test_texts.items()},
            grad_dots={k: np.concatenate([p.grad_dots[k] for p in parts]) for k in sorted(grad_keys)},
            learning_rates=np.concatenate([p.learning_rates for p in parts]) if with_lr else None,
            self_influence={m: {k: v for p in parts for k, v in p.self_influence.get(m, {}).items()}
                            for m in set().union(*(p.self_influence for p in parts))},
            config=first.config if all(c == first.config for c in configs) else {"parts": configs},
        )


def _as_int_array(array, name: str) -> np.ndarray:
    """`array` as int64, refusing non-integral values instead of silently truncating them."""
    array = np.asarray(array)
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f" and np.all(array == np.round(array)):
        return array.astype(np.int64)
    raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")


def _duplicates(ids: np.ndarray) -> list[int]:
    """The ids that occur more than once (at most 10)."""
    unique, counts = np.unique(ids, return_counts=True)
    return unique[counts > 1][:10].tolist()
