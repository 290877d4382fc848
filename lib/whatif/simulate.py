"""What a fitted simulator predicts for a curriculum you design: trajectories of test examples as a tidy table."""
from __future__ import annotations

from typing import Mapping, Sequence, Union

import numpy as np
import pandas as pd

from lib.collect.curricula import Curriculum
from lib.dynamics import Dynamics
from lib.simulators.gradient_baselines import GradientSimulator
from lib.simulators.rollout import rollout
from lib.whatif.saved import FittedSimulator

CurriculumLike = Union[Curriculum, np.ndarray, Sequence[Sequence[Union[int, str]]]]
"""A Curriculum, an id array [steps, batch], or one list per step of training ids and / or texts."""


def simulate_curriculum(model: FittedSimulator, initial: Mapping[int, float | Sequence[float]] | pd.Series | None,
                        curriculum: CurriculumLike, *, texts: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Simulated trajectories (columns step, test_id, value, diverged) of the test examples of `initial`.

    initial: test id -> its value before training (`order` values y_0..y_{order-1} for a higher-order
    simulator); None takes the fitted runs' mean for every fitted test example. texts: texts of training
    ids the fitted runs do not hold (e.g. a collection's unseen examples). A text in the curriculum that is
    no known training text gets a new, negative id. Only GPTfluence simulates such unseen examples (from their
    texts); Simfluence and the gradient and attribution baselines refuse them with a ValueError naming their ids.
    """
    sim = model.simulator
    known_texts = {**model.train_texts, **{int(k): str(v) for k, v in (texts or {}).items()}}
    batches, new_texts = as_batches(curriculum, known_texts)
    known_texts.update(new_texts)
    test_ids, first = _initial(model, initial)
    _refuse_unseen(model, batches, known_texts)
    values = np.repeat(first[-1:], batches.shape[0] + 1, axis=0)
    values[: sim.order] = first
    runs = Dynamics.from_arrays(batches[None], values[None], test_ids, sim.metric_, split=["test"],
                                train_texts=known_texts, test_texts=model.test_texts)
    if isinstance(sim, GradientSimulator):
        sim._check_runs(runs)
        beta = -sim.sigma_ * model.pairs.decrements(batches, test_ids, type(sim).__name__)
        pred = rollout(np.ones((1, len(batches), 1, len(test_ids))), beta[None], first[None])
        sim.health_ = sim.health(pred)
    else:
        pred = sim.simulate(runs)
    steps, tests = np.meshgrid(np.arange(pred.shape[1]), test_ids, indexing="ij")
    diverged = np.broadcast_to(sim.health_.diverged[0], steps.shape)
    return pd.DataFrame({"step": steps.ravel(), "test_id": tests.ravel(), "value": pred[0].ravel(),
                         "diverged": diverged.ravel()})


def simulate_designs(model: FittedSimulator, initial: Mapping[int, float | Sequence[float]] | pd.Series | None,
                     designs: Mapping[str, CurriculumLike], *, texts: Mapping[int, str] | None = None) -> pd.DataFrame:
    """simulate_curriculum of every named curriculum, in one table with a `curriculum` column (what plot_whatif draws)."""
    tables = [simulate_curriculum(model, initial, curriculum, texts=texts).assign(curriculum=name)
              for name, curriculum in designs.items()]
    if not tables:
        raise ValueError("designs must name at least one curriculum")
    return pd.concat(tables, ignore_index=True)


def as_batches(curriculum: CurriculumLike, train_texts: Mapping[int, str]) -> tuple[np.ndarray, dict[int, str]]:
    """[steps, batch] training ids of a curriculum, and the new id (-1, -2, ..) of each text that is no training text."""
    if isinstance(curriculum, Curriculum):
        curriculum = curriculum.batches
    rows = [list(step) for step in curriculum]
    if not rows or any(len(step) != len(rows[0]) for step in rows) or not rows[0]:
        raise ValueError(f"a curriculum needs >= 1 step, every step the same number (>= 1) of examples; got step sizes "
                         f"{[len(step) for step in rows][:10]}")
    by_text = {text: i for i, text in sorted(train_texts.items(), reverse=True)}  # the lowest id of a repeated text
    new: dict[str, int] = {}
    out = np.empty((len(rows), len(rows[0])), dtype=np.int64)
    for s, step in enumerate(rows):
        for b, item in enumerate(step):
            if isinstance(item, str):
                if item not in by_text and item not in new:
                    new[item] = -1 - len(new)  # collection ids are >= 0: a new id never names a known example
                out[s, b] = by_text.get(item, new.get(item))
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                out[s, b] = int(item)
            else:
                raise ValueError(f"curriculum step {s} holds {item!r}: items must be training ids (int) or texts (str)")
    return out, {i: text for text, i in new.items()}


def _initial(model: FittedSimulator, initial) -> tuple[np.ndarray, np.ndarray]:
    """Test ids and their given first values [order, tests]."""
    order = model.simulator.order
    given = model.initial if initial is None else dict(initial.items())
    if not given:
        raise ValueError("initial must give a value for at least one test example")
    columns = []
    for test_id, value in given.items():
        value = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if value.shape != (order,):
            raise ValueError(f"test id {test_id}: a Markov order {order} simulator needs {order} initial value(s), "
                             f"got {value.tolist()}")
        columns.append(value)
    return np.array([int(t) for t in given], dtype=np.int64), np.stack(columns, axis=1)


def _refuse_unseen(model: FittedSimulator, batches: np.ndarray, texts: Mapping[int, str]) -> None:
    """Simfluence and the gradient and attribution baselines know only their fitted examples: refuse the others by id
    (and text)."""
    sim = model.simulator
    if hasattr(sim, "train_ids_"):
        known, why = sim.train_ids_, "it learns one factor per training example it was fitted on"
    elif model.pairs is not None:
        known, why = model.pairs.train_ids, f"it needs {model.pairs.source} for each training example"
    else:
        return  # GPTfluence: every example with a text
    unseen = np.setdiff1d(batches, known)
    if unseen.size:
        shown = ", ".join(f"{int(i)}" + (f" ({texts[int(i)][:40]!r})" if int(i) in texts else "") for i in unseen[:10])
        raise ValueError(f"{type(sim).__name__} cannot simulate unseen training examples ({why}): ids {shown}"
                         f"{' ..' if unseen.size > 10 else ''}; GPTfluence simulates them from their texts")
