"""What one collection is: a validated, hashable configuration read from TOML or a dict.

A configuration has a `name`, a `[runtime]` section (threads, data and cache folders: how it runs,
never what it computes) and the sections whose values decide the recorded numbers: `[data]`,
`[model]`, `[training]`, `[runs]`, `[evaluation]`, `[gradients]`, `[warmup]`. Each section checks its own
values (`check()`); `validate` adds what spans sections. The config hash is the sha256 of
the canonical JSON of those sections (defaults filled in), so a renamed config or another thread
count still fits an existing collection, and any change of what is computed does not.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.data import TASK_NAMES, get_task
from lib.dynamics import METRICS, SPLITS

COLLECTOR_VERSION = 1
"""Bumped whenever the collector's code changes the numbers it records for a given config."""

MIXTURE = "mixture"
GENERATION_METRICS = tuple(m for m in METRICS if m != "loss")
"""The metrics scored on a generation (the loss is teacher-forced); the names are lib.dynamics.METRICS'."""
REGIMES = ("full", "lora", "top")
HEADS = ("untied", "frozen")
DECODINGS = ("sample", "sample_fast", "greedy")
"""sample: temperature + top-p (transformers' warpers); sample_fast: the same filter found among the most probable
tokens (lib/collect/nucleus.py); greedy: argmax."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the value."""


@dataclass(frozen=True)
class DataSettings:
    """Which examples: the task (or "mixture"), pool / test / unseen sizes and the prompt style."""

    task: str
    pool_size: int = 64
    test_size: int = 64
    unseen_size: int = 0
    style: str = "plain"
    balanced: bool = True
    seed: int = 0
    flip_fraction: float = 0.0          # classification: this fraction of the pool gets the other label (seeded)
    fixed_ids: tuple[int, ...] = ()     # pool ids whose flip is undone ("fixed" after inspection)
    unseen_avoids_warmup: bool = False  # the warm-up is drawn beside pool and test only, the unseen pool avoids it

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [data] value."""
        if self.task != MIXTURE and self.task not in TASK_NAMES:
            raise ConfigError(f"unknown task {self.task!r} in [data] task; valid: {', '.join(TASK_NAMES)}, {MIXTURE}")
        _positive("data", "pool_size", self.pool_size)
        _positive("data", "test_size", self.test_size)
        _non_negative("data", "unseen_size", self.unseen_size)
        _non_negative("data", "seed", self.seed)
        if not 0 <= self.flip_fraction < 1:
            raise ConfigError(f"[data] flip_fraction must be in [0, 1), got {self.flip_fraction!r}")
        if len(set(self.fixed_ids)) != len(self.fixed_ids):
            raise ConfigError(f"[data] fixed_ids has duplicates: {list(self.fixed_ids)}")


LORA_KEYS = {"lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout", "lora_targets": "target_modules"}
"""The [model] keys of the LoRA settings (their names in TOML, collection.json and the hash) -> LoraSettings fields."""


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapters of the "lora" regime (the paper's 2.8B runs: r 8, alpha 4, dropout 0.05 on the attention
    projections), written flat in [model] (`LORA_KEYS`: lora_r, lora_alpha, lora_dropout, lora_targets)."""

    r: int = 8
    alpha: int = 4
    dropout: float = 0.05
    target_modules: tuple[str, ...] | None = None  # None: q/k/v projections of the architecture

    def check(self) -> None:
        """Raise ConfigError naming the first invalid LoRA value by its [model] key."""
        _positive("model", "lora_r", self.r)
        _positive("model", "lora_alpha", self.alpha)
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"[model] lora_dropout must be in [0, 1), got {self.dropout!r}")


@dataclass(frozen=True)
class ModelSettings:
    """Which GPT and how it is tuned: full fine-tuning, LoRA, or only its top blocks ("top").

    "top" trains the top `top_blocks` transformer blocks and the final norm on hidden states of the frozen
    bottom, computed once per collection (lib/collect/top_blocks.py). `head` "untied" also trains the LM head
    as an untied copy of the (possibly tied) output embedding; "frozen" keeps it as loaded. `lora`: the adapters of
    the "lora" regime, written flat in the file ([model] lora_r, ...; `LORA_KEYS`) and readable by those names.
    """

    name: str = "smollm2-135m"
    regime: str = "full"
    top_blocks: int = 2
    head: str = "untied"
    lora: LoraSettings = field(default_factory=LoraSettings)
    max_length: int = 512

    def __getattr__(self, name: str) -> Any:
        """The flat [model] names of the LoRA settings (lora_r, ...) read through to `lora`."""
        if name in LORA_KEYS:
            return getattr(self.lora, LORA_KEYS[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [model] value."""
        _check_model_name(self.name)
        _one_of("model", "regime", self.regime, REGIMES)
        self.lora.check()
        if self.max_length < 2:
            raise ConfigError(f"[model] max_length must be >= 2 (a prompt token and a target token), got {self.max_length}")
        if self.regime == "top":
            _positive("model", "top_blocks", self.top_blocks)
            _one_of("model", "head", self.head, HEADS)


@dataclass(frozen=True)
class TrainingSettings:
    """One run's optimisation: subset size, batch size, epochs, AdamW with linear decay and no warmup."""

    subset_size: int = 32
    batch_size: int = 4
    epochs: int = 6
    lr: float = 1e-5
    weight_decay: float = 0.001
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-6
    bf16: bool | str = "auto"  # "auto": bf16 autocast where it is fast (AMX / AVX512-BF16 CPUs, CUDA), else fp32

    @property
    def steps_per_epoch(self) -> int:
        """Full batches per epoch (the remainder of a shuffled subset is dropped)."""
        return self.subset_size // self.batch_size

    @property
    def steps(self) -> int:
        """Training steps T of every run."""
        return self.epochs * self.steps_per_epoch

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [training] value."""
        _positive("training", "subset_size", self.subset_size)
        _positive("training", "batch_size", self.batch_size)
        _positive("training", "epochs", self.epochs)
        if self.lr <= 0:
            raise ConfigError(f"[training] lr must be > 0, got {self.lr!r}")
        if self.weight_decay < 0 or self.adam_eps <= 0 or not (0 <= self.adam_beta1 < 1 and 0 <= self.adam_beta2 < 1):
            raise ConfigError(
                f"[training] AdamW settings out of range: weight_decay={self.weight_decay}, eps={self.adam_eps}, "
                f"betas=({self.adam_beta1}, {self.adam_beta2})")
        if self.batch_size > self.subset_size:
            raise ConfigError(f"[training] batch_size ({self.batch_size}) is larger than the subset ([training] "
                              f"subset_size = {self.subset_size})")


@dataclass(frozen=True)
class RunSettings:
    """How many runs of each split, the collection seed, and which splits train on the unseen examples."""

    train: int = 25
    val: int = 2
    test: int = 5
    seed: int = 0
    unseen_splits: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Number of runs K."""
        return self.train + self.val + self.test

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [runs] value."""
        for key in ("train", "val", "test"):
            if getattr(self, key) < 0:
                raise ConfigError(f"[runs] {key} must be >= 0 (a count of runs), got {getattr(self, key)}")
        if self.total < 1:
            raise ConfigError(f"[runs] train + val + test must be >= 1, got {self.train} + {self.val} + {self.test}")
        _non_negative("runs", "seed", self.seed)
        for split in self.unseen_splits:
            if split not in SPLITS:
                raise ConfigError(f"[runs] unseen_splits entry {split!r} is not one of {SPLITS}")


@dataclass(frozen=True)
class EvalSettings:
    """Per-step test metrics and the decoding used for BLEU / ROUGE-L."""

    metrics: tuple[str, ...] | None = None  # None: the task's metrics (loss, plus bleu/rougeL for generation)
    batch_size: int = 16
    decoding: str = "sample"
    top_p: float = 0.95
    temperature: float = 0.2
    max_new_tokens: int = 32
    generation_seed: int = 0
    stop_at_newline: bool = True

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [evaluation] value."""
        for metric in self.metrics or ():
            if metric not in METRICS:
                raise ConfigError(f"[evaluation] unknown metric {metric!r}; valid: {METRICS}")
        if self.metrics is not None and len(set(self.metrics)) != len(self.metrics):
            raise ConfigError(f"[evaluation] metrics has duplicates: {list(self.metrics)}")
        _positive("evaluation", "batch_size", self.batch_size)
        _one_of("evaluation", "decoding", self.decoding, DECODINGS)
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"[evaluation] top_p must be in (0, 1], got {self.top_p!r}")
        if self.temperature <= 0:
            raise ConfigError(f"[evaluation] temperature must be > 0, got {self.temperature!r}")
        _positive("evaluation", "max_new_tokens", self.max_new_tokens)


@dataclass(frozen=True)
class GradientSettings:
    """Which run splits record LM-head gradient dot products (TracIn-CP / Grad-Dot) and how many checkpoints."""

    splits: tuple[str, ...] = ("test",)
    checkpoints: int = 10

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [gradients] value."""
        for split in self.splits:
            if split not in SPLITS:
                raise ConfigError(f"[gradients] splits entry {split!r} is not one of {SPLITS}")
        _positive("gradients", "checkpoints", self.checkpoints)


@dataclass(frozen=True)
class WarmupSettings:
    """An optional format warm-start: fine-tune once on `examples` examples disjoint from the collection's.

    The warm-up trains the same parameters as the runs (same regime), with AdamW and a linear decay from `lr`
    to 0 over `steps` steps of `batch_size`; its final model is the initial model of every run
    (lib/collect/warmup.py). `examples = 0` means no warm-up.
    """

    examples: int = 0
    steps: int = 16
    batch_size: int = 4
    lr: float = 1e-4
    seed: int = 0

    @property
    def enabled(self) -> bool:
        """Whether the collection warms up at all."""
        return self.examples > 0

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [warmup] value."""
        _non_negative("warmup", "examples", self.examples)
        if not self.enabled:
            return
        _positive("warmup", "steps", self.steps)
        _positive("warmup", "batch_size", self.batch_size)
        _non_negative("warmup", "seed", self.seed)
        if self.lr <= 0:
            raise ConfigError(f"[warmup] lr must be > 0, got {self.lr!r}")
        if self.batch_size > self.examples:
            raise ConfigError(f"[warmup] batch_size ({self.batch_size}) is larger than [warmup] examples ({self.examples})")


@dataclass(frozen=True)
class RuntimeSettings:
    """How the collection runs (not hashed): torch threads, data and cache folders, a sibling collection to reuse.

    threads None = all cores of the process. On a shared, oversubscribed machine fewer threads can be
    much faster (2 cores at load ~5: one SmolLM2 evaluation 12.5 s with 1 thread, 30 s with 2): OpenMP
    threads wait for each other when one is descheduled. Thread count can change the last bits of results.
    `reuse_runs_from`: the name of a sibling folder of the output folder, a collection whose runs that are the same
    runs as some of this one's are taken over instead of trained again (lib/collect/reuse.py).
    """

    threads: int | None = None
    data_dir: str | None = None
    cache_dir: str | None = None
    reuse_runs_from: str | None = None

    def check(self) -> None:
        """Raise ConfigError naming the first invalid [runtime] value."""
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"[runtime] threads must be >= 1, got {self.threads}")
        name = self.reuse_runs_from
        if name is not None and (not name or name in (".", "..") or "/" in name or "\\" in name):
            raise ConfigError(f"[runtime] reuse_runs_from must name a sibling folder of the output folder (a plain "
                              f"folder name such as \"webnlg\"), got {name!r}")


@dataclass(frozen=True)
class CollectionConfig:
    """A whole collection: K runs of one task/model/regime, recorded with per-step test metrics."""

    name: str
    data: DataSettings
    model: ModelSettings = field(default_factory=ModelSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    runs: RunSettings = field(default_factory=RunSettings)
    evaluation: EvalSettings = field(default_factory=EvalSettings)
    gradients: GradientSettings = field(default_factory=GradientSettings)
    warmup: WarmupSettings = field(default_factory=WarmupSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "CollectionConfig":
        """Build from nested dicts (TOML sections), rejecting unknown keys, then validate."""
        return from_dict(raw)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> "CollectionConfig":
        """Read a TOML file (tomllib) and build a validated config; `name` defaults to the file stem."""
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                raw = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: invalid TOML: {err}") from None
        raw.setdefault("name", path.stem)
        return from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), the form written to collection.json: [model]'s LoRA settings flat
        (`LORA_KEYS`), where they have always been, so the hash of every existing collection stays what it was."""
        out = json.loads(json.dumps(dataclasses.asdict(self)))
        model = {}
        for key, value in out["model"].items():
            model.update({flat: value[name] for flat, name in LORA_KEYS.items()} if key == "lora" else {key: value})
        out["model"] = model
        return out

    def hashed_dict(self) -> dict[str, Any]:
        """The part of the config that decides the recorded numbers, plus the collector version."""
        out = self.to_dict()
        out.pop("name")
        out.pop("runtime")
        optional = (("flip_fraction", 0.0), ("fixed_ids", []), ("unseen_avoids_warmup", False))
        for key, default in optional:  # label noise, the unseen draw: hashed only when used,
            if out["data"][key] == default:  # so older collections keep their hash
                out["data"].pop(key)
        if self.model.regime != "top":  # top-block settings and the warm-up: hashed only when used (idem)
            for key in ("top_blocks", "head"):
                out["model"].pop(key)
        if not self.warmup.enabled:
            out.pop("warmup")
        out["collector_version"] = COLLECTOR_VERSION
        return out

    @property
    def config_hash(self) -> str:
        """sha256 of the canonical JSON of `hashed_dict()`."""
        text = json.dumps(self.hashed_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def metrics(self) -> tuple[str, ...]:
        """The resolved metrics (filled in by validation)."""
        assert self.evaluation.metrics is not None
        return self.evaluation.metrics

    @property
    def generation_metrics(self) -> tuple[str, ...]:
        """The metrics that need a generation (bleu, rougeL)."""
        return tuple(m for m in self.metrics if m in GENERATION_METRICS)

    def run_split(self, run_index: int) -> str:
        """The split of run `run_index`: the first `train` runs are "train", then "val", then "test"."""
        if not 0 <= run_index < self.runs.total:
            raise ValueError(f"run index {run_index} out of range for {self.runs.total} runs")
        if run_index < self.runs.train:
            return "train"
        if run_index < self.runs.train + self.runs.val:
            return "val"
        return "test"

    def records_gradients(self, run_index: int) -> bool:
        """Whether run `run_index` records gradient dot products."""
        return self.run_split(run_index) in self.gradients.splits

    def with_overrides(self, **sections: dict[str, Any]) -> "CollectionConfig":
        """A copy with some keys of some sections replaced, validated again (e.g. runtime={"threads": 1})."""
        raw = self.to_dict()
        for section, values in sections.items():
            if section == "name":
                raw["name"] = values
                continue
            if section not in raw or not isinstance(raw[section], dict):
                raise ConfigError(f"unknown config section {section!r}")
            raw[section].update(values)
        return from_dict(raw)


_SECTIONS: dict[str, type] = {
    "data": DataSettings,
    "model": ModelSettings,
    "training": TrainingSettings,
    "runs": RunSettings,
    "evaluation": EvalSettings,
    "gradients": GradientSettings,
    "warmup": WarmupSettings,
    "runtime": RuntimeSettings,
}


def from_dict(raw: dict[str, Any]) -> CollectionConfig:
    """Build a CollectionConfig from nested dicts, naming any unknown section or key, then validate it."""
    if not isinstance(raw, dict):
        raise ConfigError(f"a config must be a table of sections, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_SECTIONS) - {"name"})
    if unknown:
        raise ConfigError(f"unknown config section(s) {unknown}; expected 'name' and {sorted(_SECTIONS)}")
    name = raw.get("name", "collection")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"name must be a non-empty string, got {name!r}")
    if "data" not in raw or "task" not in raw.get("data", {}):
        raise ConfigError("[data] task is required (a task name or 'mixture')")
    sections = {}
    for key, kind in _SECTIONS.items():
        values = raw.get(key, {})
        if not isinstance(values, dict):
            raise ConfigError(f"[{key}] must be a table, got {values!r}")
        if kind is ModelSettings:  # the LoRA settings are flat in the file (LORA_KEYS), nested in ModelSettings
            flat = {k: v for k, v in values.items() if k in LORA_KEYS}
            values = {k: v for k, v in values.items() if k not in LORA_KEYS}
            sections[key] = _section(ModelSettings, key, values, hidden={"lora": LORA_KEYS},
                                     lora=_section(LoraSettings, key, flat, names={v: k for k, v in LORA_KEYS.items()}))
        else:
            sections[key] = _section(kind, key, values)
    return validate(CollectionConfig(name=name, **sections))


def _section(kind: type, section: str, values: dict[str, Any], *, names: dict[str, str] | None = None,
             hidden: dict[str, dict] | None = None, **given: Any) -> Any:
    """A settings dataclass `kind` of [section] from its file values, each checked against its field type.

    `names`: field -> its name in the file (default the field's own); `hidden`: fields filled in `given` instead,
    each with the file names that stand for it (for the unknown-key message).
    """
    names, hidden = names or {}, hidden or {}
    types = {names.get(f, f): (f, t) for f, t in typing.get_type_hints(kind).items() if f not in hidden}
    bad = sorted(set(values) - set(types))
    if bad:
        expected = sorted(set(types) | {k for keys in hidden.values() for k in keys})
        raise ConfigError(f"unknown key(s) {bad} in [{section}]; expected some of {expected}")
    return kind(**{types[k][0]: _typed(f"[{section}] {k}", v, types[k][1]) for k, v in values.items()}, **given)


def _typed(where: str, value: Any, kind: Any) -> Any:
    """`value` checked against the field type `kind` (lists become tuples, ints may be floats), else ConfigError."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{where} must not be empty")
    if options == (bool, str):  # a boolean or "auto"
        if value == "auto" or isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true, false or \"auto\", got {value!r}")
    for option in options:
        if typing.get_origin(option) is tuple:
            item = typing.get_args(option)[0]
            if isinstance(value, (list, tuple)) and all(_is(v, item) for v in value):
                return tuple(value)
            raise ConfigError(f"{where} must be a list of {_LIST_NAMES[item]}, got {value!r}")
        if _is(value, option):
            return float(value) if option is float else value
    raise ConfigError(f"{where} must be {' or '.join(_NAMES[o] for o in options if o is not type(None))}, got {value!r}")


_NAMES = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}
_LIST_NAMES = {int: "integers", float: "finite numbers", bool: "true/false values", str: "strings"}


def _is(value: Any, kind: type) -> bool:
    """Whether `value` is of the config type `kind` (a bool is no number; a number is finite)."""
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is str:
        return isinstance(value, str)
    return isinstance(value, kind)


def validate(config: CollectionConfig) -> CollectionConfig:
    """Check every section, then what spans sections, before any training; fill in the default metrics and bf16."""
    for section in _SECTIONS:
        getattr(config, section).check()
    d, m, t, r, e, g = config.data, config.model, config.training, config.runs, config.evaluation, config.gradients
    kind = "mixture" if d.task == MIXTURE else get_task(d.task).kind
    if (d.flip_fraction or d.fixed_ids) and kind != "classification":
        raise ConfigError(f"[data] flip_fraction / fixed_ids flip labels: they need a classification task, "
                          f"{d.task!r} is {kind}")
    if m.regime == "top" and g.splits and m.head == "frozen":
        raise ConfigError(
            "[gradients] splits records LM-head gradient dot products, but [model] head = \"frozen\" is not "
            "trained in the top-block regime; use head = \"untied\" or [gradients] splits = []")
    if d.unseen_avoids_warmup and not (d.unseen_size and config.warmup.enabled):
        raise ConfigError(f"[data] unseen_avoids_warmup = true needs an unseen pool and a warm-up, got unseen_size = "
                          f"{d.unseen_size} and [warmup] examples = {config.warmup.examples}")
    if r.unseen_splits and d.unseen_size < t.subset_size:
        raise ConfigError(
            f"[runs] unseen_splits={list(r.unseen_splits)} train on the unseen examples, so [data] unseen_size "
            f"({d.unseen_size}) must be >= [training] subset_size ({t.subset_size})")
    if t.subset_size > d.pool_size and set(r.unseen_splits) != set(SPLITS):
        raise ConfigError(
            f"[training] subset_size ({t.subset_size}) is larger than the pool ([data] pool_size = {d.pool_size})")
    if g.checkpoints > t.steps:
        raise ConfigError(f"[gradients] checkpoints ({g.checkpoints}) exceeds the number of steps ({t.steps})")
    metrics = e.metrics
    if metrics is None:
        metrics = ("loss",) if d.task == MIXTURE else tuple(x for x in get_task(d.task).metrics if x in METRICS)
    if not metrics:
        raise ConfigError("[evaluation] metrics must name at least one metric")
    for metric in metrics:
        if metric in GENERATION_METRICS and kind == "classification":
            raise ConfigError(f"[evaluation] metric {metric!r} needs a generation task, {d.task!r} is classification")
    metrics = tuple(x for x in METRICS if x in metrics)  # canonical order
    bf16 = _fast_bf16() if t.bf16 == "auto" else bool(t.bf16)
    return dataclasses.replace(config, evaluation=dataclasses.replace(e, metrics=metrics),
                               training=dataclasses.replace(t, bf16=bf16))


def _fast_bf16() -> bool:
    """`bf16 = "auto"` resolved: bf16 only where it is fast (lib.precision). The resolved value is hashed, so a
    collection can't be resumed with another precision."""
    from lib.precision import fast_bf16_available  # torch: only when "auto" is resolved; readers stay torch-free

    return fast_bf16_available("cuda" if _cuda() else "cpu")


def _cuda() -> bool:
    import torch  # see _fast_bf16

    return torch.cuda.is_available()


def _positive(section: str, key: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"[{section}] {key} must be >= 1, got {value}")


def _non_negative(section: str, key: str, value: int) -> None:
    if value < 0:
        raise ConfigError(f"[{section}] {key} must be >= 0, got {value}")


def _one_of(section: str, key: str, value: Any, valid: tuple) -> None:
    if value not in valid:
        raise ConfigError(f"[{section}] {key} must be one of {valid}, got {value!r}")


def _check_model_name(name: str) -> None:
    """A short name lib.models knows, a local model folder, or an "org/name" hub id; else ConfigError."""
    from lib.models import HUB_ALIASES, OFFLINE_MODELS  # lib.models imports torch and transformers

    if name in OFFLINE_MODELS or name in HUB_ALIASES:
        return
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return
    parts = name.split("/")
    if len(parts) == 2 and all(parts) and not path.exists() and not name.startswith((".", "~")):
        return  # a hub id: loadable only with internet or a warm HF cache
    raise ConfigError(
        f"unknown model {name!r} in [model] name; use one of {', '.join(OFFLINE_MODELS + tuple(HUB_ALIASES))}, "
        "a local Hugging Face folder or an 'org/name' hub id")


def load_config(source: str | os.PathLike | dict | CollectionConfig) -> CollectionConfig:
    """A validated config from a TOML path, a dict or an existing config."""
    if isinstance(source, CollectionConfig):
        return validate(source)
    if isinstance(source, dict):
        return from_dict(source)
    return CollectionConfig.from_toml(source)


def config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two hashed config dicts ("[training] lr: 1e-05 != 5e-05")."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, "<missing>"), b.get(key, "<missing>")
        if isinstance(va, dict) and isinstance(vb, dict):
            out.extend(config_diff(va, vb, f"{prefix}[{key}] " if not prefix else f"{prefix}{key}."))
        elif va != vb:
            out.append(f"{prefix}{key}: {va!r} != {vb!r}")
    return out
