"""GPTfluence: fits known processes from one-hot features, early stopping, factors, unseen examples, errors."""
import sys
import types
import zlib

import numpy as np
import pytest
import torch

from lib.dynamics import Dynamics
from lib.metrics import all_steps_mse
from lib.simulators import GPTfluence, GPTfluenceConfig, Simfluence
from lib.simulators.rollout import rollout

FAST = dict(hidden=64, shared=False, lr=1e-2, batch_size=40, max_epochs=60, patience=60, warmup_steps=20, l2=0.0)


@pytest.mark.parametrize("order", [1, 2])
def test_fits_a_known_process_near_the_noise_floor(process, encoder_for, order):
    """One-hot features can express any A and B: held-out MSE near the true process's own rollout error."""
    p = process(order=order, noise=0.01)
    sim = GPTfluence(encoder_for(p), order=order, **FAST).fit(p.split("train"), p.split("val"))
    held_out = p.split("test")
    mse = all_steps_mse(sim.simulate(held_out), held_out.values, order)[0]
    oracle = all_steps_mse(p.oracle(held_out), held_out.values, order)[0]
    constant = all_steps_mse(np.repeat(held_out.values[:, :1], held_out.n_steps + 1, axis=1), held_out.values, order)[0]
    assert mse < 3 * oracle
    assert mse < constant / 50
    if order == 1:  # method.md section 3: one-hot features and order 1 make it Simfluence
        simfluence = Simfluence().fit(p.split("train"), p.split("val"))
        assert mse < 3 * all_steps_mse(simfluence.simulate(held_out), held_out.values)[0]


def test_full_batch_learns_and_an_epoch_is_one_step(process, encoder_for):
    """batch_size=None: one AdamW step per epoch on every transition (its gradient: the test below) learns the
    process: held-out MSE far below the constant predictor's after 200 steps."""
    p = process(noise=0.01)
    sim = GPTfluence(encoder_for(p), **dict(FAST, batch_size=None, lr=3e-2, max_epochs=200, patience=200))
    sim.fit(p.split("train"), p.split("val"))
    held_out = p.split("test")
    constant = np.repeat(held_out.values[:, :1], held_out.n_steps + 1, axis=1)
    mse = all_steps_mse(sim.simulate(held_out), held_out.values)[0]
    assert mse < all_steps_mse(constant, held_out.values)[0] / 4
    assert len(sim.history_) == 200 and sim.history_.train_mse.iloc[-1] < sim.history_.train_mse.iloc[0] / 10


def test_early_stopping_keeps_the_best_epoch(process, encoder_for):
    p = process(noise=0.01)
    val = p.split("val")
    sim = GPTfluence(encoder_for(p), hidden=16, lr=3e-2, batch_size=320, max_epochs=60, patience=3,
                     warmup_steps=0).fit(p.split("train"), val)
    history = sim.history_
    assert list(history.columns) == ["epoch", "train_mse", "val_mse", "val_diverged", "val_kept_mse", "seconds"]
    ranked = history.sort_values(["val_diverged", "val_kept_mse"], kind="stable")
    assert ranked.epoch.iloc[0] == sim.best_epoch_
    if len(history) < 60:  # stopped early: exactly `patience` epochs without improvement
        assert len(history) == sim.best_epoch_ + 3
    final = all_steps_mse(sim.simulate(val), val.values)[0]
    assert final == pytest.approx(history.val_mse[sim.best_epoch_ - 1], rel=1e-6)


def test_a_batch_holds_run_step_test_transitions(process, encoder_for, monkeypatch):
    """As the official code: samples are (run, step, test example) transitions, batch_size of them per step."""
    p = process(runs=6, splits=(4, 1, 1))
    sizes = []
    original = GPTfluence._predict_transitions

    def recording(self, train_h, test_h, rows, tests, previous):
        sizes.append(len(tests))
        return original(self, train_h, test_h, rows, tests, previous)

    monkeypatch.setattr(GPTfluence, "_predict_transitions", recording)
    train = p.split("train")
    GPTfluence(encoder_for(p), hidden=8, batch_size=128, max_epochs=1).fit(train)
    assert sum(sizes) == train.n_runs * train.n_steps * train.n_tests and max(sizes) == 128


def test_early_stopping_counts_diverged_rollouts_before_averaging(process, encoder_for, monkeypatch):
    """An epoch whose one diverged rollout hides in a low mean loses to an epoch with no diverged rollout."""
    p = process(runs=6, splits=(4, 1, 1))
    train, val = p.split("train"), p.split("val")
    width = train.values.max() - train.values.min()
    epoch = iter(range(1, 100))

    def scripted(self, runs):  # epoch 1: test 0 leaves the band at its last step; epoch 2: all off by 1.5; then worse
        pred = runs.values.copy()
        k = next(epoch)
        if k == 1:
            pred[:, -1, 0] += 2 * width + 0.1
        else:
            pred[:, 1:] += 1.5 * k / 2
        return pred

    monkeypatch.setattr(GPTfluence, "simulate", scripted)
    sim = GPTfluence(encoder_for(p), hidden=8, max_epochs=5, patience=2).fit(train, val)
    history = sim.history_
    assert history.val_mse[0] < history.val_mse[1]  # the plain mean prefers epoch 1
    assert history.val_diverged.tolist()[:2] == [val.n_runs, 0]
    assert sim.best_epoch_ == 2


def test_simulation_is_the_rollout_of_its_factors_also_for_unseen_examples(process, encoder_for):
    p = process(order=2)
    d = p.dynamics
    train = d.select_runs("train").select_tests(d.test_ids[:3])
    seen_train = Dynamics.from_arrays(train.curricula % 30, train.values, train.test_ids, "loss",
                                      train_texts=d.train_texts, test_texts=d.test_texts)
    sim = GPTfluence(encoder_for(p), order=2, hidden=8, max_epochs=1).fit(seen_train)
    held_out = d.select_runs("test")  # test ids 1003, 1004 and training ids 30..39 were never seen in fit
    assert held_out.train_ids.max() >= 30
    A, B = sim.factors(held_out.train_ids, held_out.test_ids)
    assert A.shape == (len(held_out.train_ids), 2, held_out.n_tests) and B.shape == (len(held_out.train_ids), held_out.n_tests)
    rows = np.searchsorted(held_out.train_ids, held_out.curricula)
    expected = rollout(A[rows].sum(axis=2), B[rows].sum(axis=2), held_out.values[:, :2])
    np.testing.assert_allclose(sim.simulate(held_out), expected, rtol=1e-4, atol=1e-5)


def test_self_influence_is_the_order_one_factor_of_an_example_on_itself(process):
    p = process(pool=6, tests=2, subset=4, runs=3, splits=(3, 0, 0))
    d = p.dynamics
    texts = sorted(set(d.train_texts.values()))
    vectors = {t: np.random.default_rng(i).normal(size=5) for i, t in enumerate(texts)}

    class Encoder:
        name, dim = "table", 5

        def embed(self, batch):
            return np.stack([vectors.get(t, np.ones(5)) for t in batch])

    sim = GPTfluence(Encoder(), hidden=8, max_epochs=1).fit(d)
    scores = sim.self_influence(d)
    # the same examples presented as test examples: their A_{i,i} is the diagonal of the factor matrix
    as_tests = Dynamics.from_arrays(d.curricula, np.zeros((3, d.n_steps + 1, len(d.train_ids))), d.train_ids, "loss",
                                    train_texts=d.train_texts, test_texts=d.train_texts)
    A, _ = sim.factors(d.train_ids, d.train_ids, texts_from=as_tests)
    np.testing.assert_allclose([scores[i] for i in d.train_ids.tolist()], np.diag(A[:, 0]), rtol=1e-5)
    assert sim.self_influence(d.train_ids[:2]).keys() == set(d.train_ids[:2].tolist())


def test_embeds_each_text_once(process, encoder_for):
    p = process(runs=6, splits=(4, 1, 1))
    encoder = encoder_for(p)
    sim = GPTfluence(encoder, hidden=8, max_epochs=2).fit(p.split("train"), p.split("val"))
    sim.simulate(p.split("test"))
    assert len(encoder.embedded) == len(set(encoder.embedded))


def test_parameter_count_of_the_papers_architecture():
    class Encoder:
        name, dim = "fake-384", 384

        def embed(self, texts):
            return np.zeros((len(texts), 384), dtype=np.float32)

    per_mlp = 384 * 384 + 384 + 384 * 384 + 384
    assert GPTfluence(Encoder()).n_parameters == 2 * per_mlp  # ~0.6M: one shared MLP for A, one for B
    assert GPTfluence(Encoder(), shared=False).n_parameters == 4 * per_mlp
    assert GPTfluence(Encoder(), order=3).n_parameters == 4 * per_mlp


def test_encoder_name_is_loaded_lazily(monkeypatch, process, encoder_for):
    encoder = encoder_for(process())
    fake = types.ModuleType("lib.encoders")
    fake.load_encoder = lambda name: encoder if name == "minilm-cls" else None
    monkeypatch.setitem(sys.modules, "lib.encoders", fake)
    assert GPTfluence("minilm-cls", hidden=8).features.encoder is encoder


def test_errors(process, encoder_for):
    p = process()
    encoder = encoder_for(p)
    no_texts = Dynamics.from_arrays(p.dynamics.curricula, p.dynamics.values, p.dynamics.test_ids, "loss")
    with pytest.raises(ValueError, match="no text for train ids \\[0, 1, 2"):
        GPTfluence(encoder, hidden=8, max_epochs=1).fit(no_texts)
    with pytest.raises(ValueError, match="unknown GPTfluence options \\['hiden'\\]"):
        GPTfluence(encoder, hiden=8)
    with pytest.raises(ValueError, match="order must be >= 1, got 0"):
        GPTfluenceConfig(order=0)
    with pytest.raises(ValueError, match=r"batch_size must be >= 1 or None \(full batch\), got 0"):
        GPTfluenceConfig(batch_size=0)
    assert GPTfluenceConfig(batch_size=None).batch_size is None  # full batch is a setting, not an error
    with pytest.raises(ValueError, match="lacks \\['embed'\\]"):
        GPTfluence(types.SimpleNamespace(name="x", dim=3))
    with pytest.raises(ValueError, match="not fitted"):
        GPTfluence(encoder, hidden=8).simulate(p.dynamics)
    short = p.dynamics.select_steps(2)
    with pytest.raises(ValueError, match="Markov order 3 needs at least 3"):
        GPTfluence(encoder, hidden=8, order=3).fit(short)


def test_the_encoders_scale_does_not_matter(process, encoder_for):
    """Embeddings are scaled to unit norm: an encoder whose vectors are 50x longer fits and simulates the same."""
    p = process(runs=6, splits=(4, 1, 1))
    unit = encoder_for(p)

    class Long:
        name, dim = "long", unit.dim

        def embed(self, texts):
            return 50 * unit.embed(texts)

    fits = [GPTfluence(e, hidden=8, max_epochs=3).fit(p.split("train"), p.split("val")) for e in (unit, Long())]
    np.testing.assert_allclose(fits[1].simulate(p.split("test")), fits[0].simulate(p.split("test")), rtol=1e-5)
    raw = GPTfluence(Long(), hidden=8, max_epochs=3, normalize_features=False).fit(p.split("train"), p.split("val"))
    assert not np.allclose(raw.simulate(p.split("test")), fits[0].simulate(p.split("test")), rtol=1e-3)


def test_patience_counts_only_after_the_warm_up(process, encoder_for, monkeypatch):
    """With a warm-up of 8 epochs' batches and a validation error that never improves, patience 1 stops at epoch 8, its end."""
    p = process(runs=6, splits=(4, 1, 1))
    train = p.split("train")
    batches = int(np.ceil(train.n_runs * train.n_steps * train.n_tests / 64))
    monkeypatch.setattr(GPTfluence, "simulate", lambda self, runs: runs.values + 1.0)
    sim = GPTfluence(encoder_for(p), hidden=8, batch_size=64, max_epochs=20, patience=1,
                     warmup_steps=8 * batches).fit(train, p.split("val"))
    assert len(sim.history_) == 8 and sim.best_epoch_ == 1


class TableEncoder:
    """Fake encoder: a fixed random vector per text (dense features, unlike the one-hot encoder)."""

    name, dim = "table", 5

    def embed(self, texts):
        return np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) for t in texts])


def tiny(process) -> Dynamics:
    """Three runs of 9 steps over 8 training and 3 test examples, batch 2."""
    return process(pool=8, tests=3, subset=6, batch=2, runs=3, splits=(3, 0, 0)).dynamics


def explicit_factor(sim: GPTfluence, k: int, train_h: np.ndarray, test_h: np.ndarray) -> float:
    """<f_k(h), g_k(h')> from one example's forward pass through each tower, in float64."""
    def mlp(towers, h):
        w1, b1, w2, b2 = (p.detach().double().numpy()[k] for p in (towers.w1, towers.b1, towers.w2, towers.b2))
        return np.maximum(h @ w1 + b1[0], 0) @ w2 + b2[0]

    return float(mlp(sim.train_towers, train_h) @ mlp(sim.test_towers, test_h))


def explicit_predictions(sim: GPTfluence, d: Dynamics) -> tuple[np.ndarray, np.ndarray]:
    """Every teacher-forced transition's prediction and target, one (run, step, test) at a time."""
    train_h = dict(zip(d.train_ids.tolist(), sim.features.embed(d.train_ids, "train").astype(np.float64)))
    test_h = sim.features.embed(d.test_ids, "test").astype(np.float64)
    predicted, target = [], []
    for r in range(d.n_runs):
        for t in range(sim.order, d.n_steps + 1):
            for m in range(d.n_tests):
                factors = [sum(explicit_factor(sim, k, train_h[int(i)], test_h[m]) for i in d.curricula[r, t - 1])
                           for k in range(sim.order + 1)]
                previous = [d.values[r, t - j, m] for j in range(1, sim.order + 1)]
                predicted.append(np.dot(factors[: sim.order], previous) + factors[sim.order])
                target.append(d.values[r, t, m])
    return np.array(predicted), np.array(target)


@pytest.mark.parametrize("shared", [True, False])
def test_batched_towers_equal_one_transition_at_a_time(process, shared):
    """The training step's predictions and the simulation's factors equal per-example tower passes."""
    d = tiny(process)
    sim = GPTfluence(TableEncoder(), order=2, hidden=6, shared=shared, max_epochs=1)
    sim.features.remember(d)
    rows, previous, target = sim._transitions(d, d.train_ids)
    n_tests = d.n_tests
    every = torch.arange(target.numel())
    step, test = every // n_tests, every % n_tests
    train_h = sim._tensor(sim.features.embed(d.train_ids, "train"))
    test_h = sim._tensor(sim.features.embed(d.test_ids, "test"))
    with torch.no_grad():
        batched = sim._predict_transitions(train_h, test_h, rows[step], test, previous[step, :, test]).numpy()
    expected, expected_target = explicit_predictions(sim, d)
    np.testing.assert_allclose(target[step, test].numpy(), expected_target, rtol=1e-6)
    np.testing.assert_allclose(batched, expected, rtol=1e-4, atol=1e-5)
    with torch.no_grad():  # a batch of a few transitions (few distinct examples) gives the same predictions
        few = sim._predict_transitions(train_h, test_h, rows[step[5:9]], test[5:9], previous[step[5:9], :, test[5:9]])
    np.testing.assert_allclose(few.numpy(), expected[5:9], rtol=1e-4, atol=1e-5)
    A, B = sim.factors(d.train_ids[:3], d.test_ids)
    h, h_test = sim.features.embed(d.train_ids[:3], "train"), sim.features.embed(d.test_ids, "test")
    np.testing.assert_allclose(A[1, 1, 2], explicit_factor(sim, 1, h[1].astype(float), h_test[2].astype(float)),
                               rtol=1e-4)
    np.testing.assert_allclose(B[2, 0], explicit_factor(sim, 2, h[2].astype(float), h_test[0].astype(float)), rtol=1e-4)


class RecordingOptimizer(torch.optim.SGD):
    """Stands in for AdamW: plain SGD that records each step's parameters and gradients."""

    steps: list = []

    def __init__(self, params, lr, weight_decay=0.0, fused=None):
        super().__init__(params, lr=lr)
        RecordingOptimizer.steps = []

    def step(self, closure=None):
        params = [p for group in self.param_groups for p in group["params"]]
        RecordingOptimizer.steps.append(([p.detach().clone() for p in params], [p.grad.clone() for p in params]))
        return super().step(closure)


@pytest.mark.parametrize("batch_size", [10_000, None])
@pytest.mark.parametrize("shared", [True, False])
def test_the_gradient_is_that_of_the_l2_regularized_mse(process, monkeypatch, shared, batch_size):
    """Eq. 9: the optimizer receives the gradient of mean squared transition error + l2 * sum of squared parameters,
    from one batch of every transition and from the full-batch path (batch_size=None) alike."""
    d = tiny(process)
    monkeypatch.setattr(torch.optim, "AdamW", RecordingOptimizer)
    l2 = 0.05
    sim = GPTfluence(TableEncoder(), order=2, hidden=6, shared=shared, l2=l2, batch_size=batch_size, max_epochs=1)
    start = [p.detach().clone() for p in sim._parameters()]
    sim.fit(d)
    (params, grads), = RecordingOptimizer.steps  # one batch holds every transition
    assert all(torch.equal(a, b) for a, b in zip(params, start))
    reference = [p.detach().double().requires_grad_() for p in start]
    with torch.no_grad():
        for p, q in zip(sim._parameters(), start):
            p.copy_(q)
    towers = [sim.train_towers] if shared else [sim.train_towers, sim.test_towers]
    names = [(t, n) for t in towers for n in ("w1", "b1", "w2", "b2")]
    sim.features.remember(d)
    train_h = torch.as_tensor(sim.features.embed(d.train_ids, "train"), dtype=torch.float64)
    test_h = torch.as_tensor(sim.features.embed(d.test_ids, "test"), dtype=torch.float64)
    weights = {(id(t), n): p for (t, n), p in zip(names, reference)}

    def mlp(t, h):
        w1, b1, w2, b2 = (weights[(id(t), n)] for n in ("w1", "b1", "w2", "b2"))
        return torch.relu(torch.matmul(h, w1) + b1) @ w2 + b2  # [K, n, hidden]

    f, g = mlp(sim.train_towers, train_h), mlp(sim.test_towers, test_h)
    errors = []
    for r in range(d.n_runs):
        for t in range(2, d.n_steps + 1):
            rows = np.searchsorted(d.train_ids, d.curricula[r, t - 1])
            factors = torch.einsum("kh,kmh->km", f[:, rows].sum(dim=1), g)  # [K, tests]
            y = torch.as_tensor(d.values[r])
            errors.append(factors[0] * y[t - 1] + factors[1] * y[t - 2] + factors[2] - y[t])
    loss = torch.mean(torch.cat(errors) ** 2) + l2 * sum((p ** 2).sum() for p in reference)
    loss.backward()
    for got, p in zip(grads, reference):
        np.testing.assert_allclose(got.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_batches_are_the_seeded_shuffle_of_all_transitions(process, monkeypatch):
    """Each epoch's batches are `torch.randperm(transitions, generator seeded with config.seed)` split by batch_size."""
    d = tiny(process)
    seen = []
    original = GPTfluence._predict_transitions

    def recording(self, train_h, test_h, rows, tests, previous):
        seen.append((rows.clone(), tests.clone()))
        return original(self, train_h, test_h, rows, tests, previous)

    monkeypatch.setattr(GPTfluence, "_predict_transitions", recording)
    sim = GPTfluence(TableEncoder(), hidden=6, batch_size=16, max_epochs=2, seed=7).fit(d)
    rows, _, target = sim._transitions(d, d.train_ids)
    generator = torch.Generator().manual_seed(7)
    expected = [b for _ in range(2) for b in torch.randperm(target.numel(), generator=generator).split(16)]
    assert len(seen) == len(expected)
    for (got_rows, got_tests), batch in zip(seen, expected):
        assert torch.equal(got_rows, rows[batch // d.n_tests]) and torch.equal(got_tests, batch % d.n_tests)


def test_fit_is_deterministic_given_the_seed(process, encoder_for):
    p = process(runs=6, splits=(4, 1, 1))
    fits = [GPTfluence(TableEncoder(), hidden=8, max_epochs=3, seed=seed).fit(p.split("train"), p.split("val"))
            for seed in (3, 3, 4)]
    held_out = p.split("test")
    same, other = (fits[i].simulate(held_out) for i in (1, 2))
    np.testing.assert_array_equal(fits[0].simulate(held_out), same)
    np.testing.assert_array_equal(fits[0].history_.train_mse, fits[1].history_.train_mse)
    assert not np.allclose(same, other)


def test_full_batch_validation_is_the_rollout_at_the_updated_parameters(process, encoder_for, monkeypatch):
    """batch_size=None: the towers run once per epoch, and that pass, made after the update, is the epoch's validation
    rollout: the kept epoch's recorded validation MSE is that of simulating the validation runs afterwards."""
    p = process(noise=0.01)
    val = p.split("val")
    passes = []
    original = GPTfluence._pair_factors

    def counting(self, train_h, test_h):
        passes.append(len(train_h))
        return original(self, train_h, test_h)

    monkeypatch.setattr(GPTfluence, "_pair_factors", counting)
    sim = GPTfluence(encoder_for(p), hidden=16, batch_size=None, lr=3e-2, max_epochs=40, patience=5,
                     warmup_steps=0).fit(p.split("train"), val)
    assert len(passes) == len(sim.history_) + 1  # one pass before the first step, one after each
    final = all_steps_mse(sim.simulate(val), val.values)[0]
    assert final == pytest.approx(sim.history_.val_mse[sim.best_epoch_ - 1], rel=1e-5)
    assert sim.history_.val_mse.nunique() > 1  # the validation error follows the updates


def test_full_batch_simulates_a_validation_set_with_other_test_examples(process, encoder_for):
    """Validation runs scored on other test examples than the training runs' cannot reuse the training pass: they
    are simulated, and the kept epoch's validation MSE is again that of simulating them."""
    p = process(noise=0.01)
    d = p.dynamics
    train = p.split("train").select_tests(d.test_ids[:3])
    val = p.split("val").select_tests(d.test_ids[3:])
    sim = GPTfluence(encoder_for(p), hidden=16, batch_size=None, lr=3e-2, max_epochs=20, patience=5,
                     warmup_steps=0).fit(train, val)
    final = all_steps_mse(sim.simulate(val), val.values)[0]
    assert final == pytest.approx(sim.history_.val_mse[sim.best_epoch_ - 1], rel=1e-5)


def test_fit_flushes_denormals_and_restores_the_default(process, encoder_for, monkeypatch):
    """Inside fit a denormal float32 reads as 0 (Adam's decaying moments stay fast); after fit it is itself again."""
    p = process(runs=6, splits=(4, 1, 1))
    denormal = torch.tensor([1e-40], dtype=torch.float32)
    seen = []
    original = GPTfluence._descend

    def recording(self, optimizer, mse):
        seen.append(float((denormal * 1.0)[0]))
        return original(self, optimizer, mse)

    monkeypatch.setattr(GPTfluence, "_descend", recording)
    GPTfluence(encoder_for(p), hidden=8, batch_size=None, max_epochs=2).fit(p.split("train"), p.split("val"))
    assert seen == [0.0, 0.0]
    assert float((denormal * 1.0)[0]) > 0
