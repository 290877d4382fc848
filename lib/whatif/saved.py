"""A fitted simulator with what asking it about new curricula needs, saved to one file and loaded back.

The file (torch.save of plain values and tensors, read with weights_only=True) holds the simulator's class, its
constructor settings, its fitted attributes (names ending in `_`) and module weights, the hash of the runs it
was fit on, their texts and mean initial values, and for the gradient and attribution baselines their pair scores
(EK-FAC and TRAK also keep the stored score matrices of the runs they were fitted on).
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import sys
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from lib.dynamics import Dynamics
from lib.simulators import GPTfluence, GradDot, Simfluence, SimfluenceSGD, Simulator, TracInCP
from lib.simulators.attribution_baselines import AttributionSimulator, EKFACInfluence, TRAKSimulator
from lib.simulators.gradient_baselines import GradientSimulator
from lib.whatif.pair_scores import PairScores, attribution_pair_scores, pair_scores

FORMAT = "lib.whatif fitted simulator"
FORMAT_VERSION = 1
SAVABLE: dict[str, type[Simulator]] = {cls.__name__: cls for cls in (Simfluence, SimfluenceSGD, GPTfluence, TracInCP,
                                                                     GradDot, EKFACInfluence, TRAKSimulator)}
ARGUMENT_ATTRIBUTES = {"checkpoints": "setting"}
"""Constructor arguments stored under another attribute name (TracInCP keeps `checkpoints` as `setting`)."""


@dataclass
class FittedSimulator:
    """A fitted simulator, the hash of the runs it was fit on, their texts and their mean first `order` values."""

    simulator: Simulator
    dynamics_hash: str
    collection_hash: str | None
    train_texts: dict[int, str]
    test_texts: dict[int, str]
    initial: dict[int, tuple[float, ...]]
    pairs: PairScores | None = None


def fitted(simulator: Simulator, train: Dynamics, val: Dynamics | None = None) -> FittedSimulator:
    """Pair a simulator with the runs it was fit on: `train` and, where fit used them, the validation runs `val`."""
    if getattr(simulator, "metric_", None) is None:
        raise ValueError(f"{type(simulator).__name__} is not fitted: call fit(train, val) first")
    runs = train if val is None or val.n_runs == 0 else Dynamics.concat([train, val])
    if runs.metric != simulator.metric_:
        raise ValueError(f"{type(simulator).__name__} was fitted on {simulator.metric_!r}, the runs hold {runs.metric!r}")
    first = runs.values[:, : simulator.order].mean(axis=0)  # [order, tests]
    return FittedSimulator(
        simulator=simulator, dynamics_hash=dynamics_hash(runs), collection_hash=runs.config.get("config_hash"),
        train_texts=dict(runs.train_texts), test_texts=dict(runs.test_texts),
        initial={int(t): tuple(float(v) for v in first[:, m]) for m, t in enumerate(runs.test_ids)},
        pairs=_pairs(simulator, runs))


def _pairs(simulator: Simulator, runs: Dynamics) -> PairScores | None:
    """The per-pair scores a gradient or attribution baseline simulates new curricula with (None for the others)."""
    if isinstance(simulator, AttributionSimulator):
        return attribution_pair_scores(simulator, runs)
    if isinstance(simulator, GradientSimulator):
        return pair_scores(runs, simulator.setting)
    return None


def dynamics_hash(runs: Dynamics) -> str:
    """sha256 of the runs' content: metric, run ids, splits, steps, curricula, values and test ids."""
    digest = hashlib.sha256(runs.metric.encode())
    for array in (runs.run_ids, runs.steps, runs.curricula, runs.values, runs.test_ids):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update("\n".join(runs.split.tolist()).encode())
    return digest.hexdigest()


def save(model: FittedSimulator, path: str | os.PathLike) -> None:
    """Write the fitted simulator to `path` (one file; see the module docstring)."""
    sim = model.simulator
    name = type(sim).__name__
    if name not in SAVABLE or type(sim) is not SAVABLE[name]:
        raise ValueError(f"cannot save a {name}; savable simulators: {', '.join(SAVABLE)}")
    modules = {k: v.state_dict() for k, v in vars(sim).items() if isinstance(v, torch.nn.Module)}
    state = {k: _encode(v, k) for k, v in vars(sim).items()
             if k.endswith("_") and not k.startswith("_") and k != "health_"}
    payload = dict(
        format=FORMAT, version=FORMAT_VERSION, cls=name, settings=_encode(_settings(sim), "settings"), state=state,
        modules=modules, dynamics_hash=model.dynamics_hash, collection_hash=model.collection_hash,
        train_texts=model.train_texts, test_texts=model.test_texts, initial=model.initial,
        pairs=None if model.pairs is None else _encode(dataclasses.asdict(model.pairs), "pairs"))
    torch.save(payload, path)


def load(path: str | os.PathLike, *, encoder: Any = None) -> FittedSimulator:
    """The fitted simulator saved at `path`; GPTfluence loads its encoder by the saved name unless `encoder` is given."""
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; refuse anything else before unpickling
        raise ValueError(f"{path} is not a saved fitted simulator (not a torch.save archive)")
    payload = torch.load(path, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved fitted simulator (no {FORMAT!r} header)")
    if payload["version"] != FORMAT_VERSION:
        raise ValueError(f"{path} has format version {payload['version']}; this code reads version {FORMAT_VERSION} "
                         f"only: refit the simulator and save it again")
    if payload.get("cls") not in SAVABLE:
        raise ValueError(f"{path} holds a {payload.get('cls')!r}; loadable simulators: {', '.join(SAVABLE)}")
    cls = SAVABLE[payload["cls"]]
    settings = _decode(payload["settings"])
    if "encoder" in settings and encoder is not None:
        settings["encoder"] = encoder
    sim = cls(**settings)
    for key, value in payload["modules"].items():
        getattr(sim, key).load_state_dict(value)
    for key, value in payload["state"].items():
        setattr(sim, key, _decode(value))
    pairs = payload["pairs"]
    return FittedSimulator(
        simulator=sim, dynamics_hash=payload["dynamics_hash"], collection_hash=payload["collection_hash"],
        train_texts=payload["train_texts"], test_texts=payload["test_texts"], initial=payload["initial"],
        pairs=None if pairs is None else PairScores(**_decode(pairs)))


def _settings(sim: Simulator) -> dict[str, Any]:
    """The constructor arguments that rebuild `sim` unfitted (the encoder by name)."""
    out = {}
    for name, parameter in inspect.signature(type(sim).__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if name == "encoder":
            out[name] = sim.features.encoder.name
        else:
            out[name] = getattr(sim, ARGUMENT_ATTRIBUTES.get(name, name))
    return out


def _encode(value: Any, where: str) -> Any:
    """`value` as what torch.load(weights_only=True) reads back: arrays and frames as tagged tensors and lists."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iufb":
            raise ValueError(f"cannot save {where}: array of dtype {value.dtype}")
        return {"__ndarray__": torch.tensor(np.ascontiguousarray(value))}  # torch refuses negative strides
    if isinstance(value, pd.DataFrame):
        return {"__dataframe__": {str(k): _encode(v.to_numpy(), where) for k, v in value.items()}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name), where) for f in dataclasses.fields(value)}
        return {"__dataclass__": f"{type(value).__module__}:{type(value).__qualname__}", "fields": fields}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {(k.item() if isinstance(k, np.generic) else k): _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_encode(v, where) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"cannot save {where}: values of type {type(value).__name__}")


def _decode(value: Any) -> Any:
    """The inverse of `_encode`."""
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return value["__ndarray__"].numpy()
        if "__dataframe__" in value:
            return pd.DataFrame({k: _decode(v) for k, v in value["__dataframe__"].items()})
        if "__dataclass__" in value:
            module, name = value["__dataclass__"].split(":")
            if module not in sys.modules or not module.startswith("lib."):
                raise ValueError(f"the file names settings class {value['__dataclass__']!r}, not one of this package")
            return getattr(sys.modules[module], name)(**_decode(value["fields"]))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_decode(v) for v in value)
    return value
