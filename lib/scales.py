"""The named scales the book runs at, stated in one place that the intro quotes."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import pandas as pd


@dataclass(frozen=True)
class Scale:
    """What a book build at this scale uses, and why. A scale's name is what `--scale` says; the collections it reads
    are its `folder`, and the settings tuned to them (GPTfluence's training, the ablation grid) are keyed by its
    `regime`, so that the default book reads another regime's collections after one edit (DEFAULT_READS)."""

    name: str
    model: str          # the GPT that is fine-tuned
    encoder: str        # GPTfluence's frozen feature encoder
    examples_shown: int  # prompts printed per task in the foundation chapter
    why: str
    committed: bool = False  # its dynamics are checked in under data/dynamics/<folder> (collecting them is opt-in)
    folder: str = ""    # configs/<folder>/*.toml; the dynamics under data/dynamics/<folder>/ (build/ if not committed)
    regime: str = ""    # the data regime (a key of REGIMES) the chapters' settings are keyed by
    label: str = ""     # the regime in words where the book sets collections side by side
    trains: str = ""    # what a run of the regime trains, in words
    cross_check: str | None = None  # the regime whose collections the book sets beside its own (chapters 02, 03)


REGIMES: dict[str, Scale] = {
    "smoke": Scale(
        name="smoke", model="tiny-neox", encoder="minilm-mean", examples_shown=1,
        why="CI check that every chapter runs end to end in minutes; a random ~270k-parameter GPT-NeoX, "
            "so its numbers mean nothing.", folder="smoke", regime="smoke", label="smoke",
        trains="every weight of a random tiny GPT", cross_check="paper_size"),
    "full_fine_tuning": Scale(
        name="full_fine_tuning", model="smollm2-135m", encoder="minilm-mean", examples_shown=2,
        why="The default book's cross-check (and the book a reader got before the paper-size collections were "
            "complete): SmolLM2-135M-Instruct fully fine-tuned in fp32 on real task data, every collection run on a "
            "2-core CPU (about 2 hours, two collections side by side). SST-2 and its "
            "mislabel, unseen-data and model-size variants: pool 32, 16 examples per run, batch 4, 4 epochs = 16 "
            "steps, 8 runs (5 train / 1 val / 2 test), 16 test examples. RTE, BoolQ, WebNLG, WMT16 and the "
            "instruction-tuning mixture (FLAN-style prompts over six tasks): 3 epochs = 12 steps, 7 runs (5/1/1), "
            "8 test examples (12 for the mixture), because their prompts are 3-5x longer and the generation tasks "
            "also generate for BLEU and ROUGE-L at every step (a step with evaluation costs 5-25 s here). The "
            "paper's size (32 runs of 96 steps, 200-example pools) would take days here; lr 2e-5 instead of the "
            "paper's 5e-7 makes the loss move in 12-16 steps. The second size is Gemma-3-270M on SST-2, on the same "
            "8 curricula as SmolLM2-135M. Numbers at this scale are noisy (few runs and test examples); they are "
            "shown beside the paper's, never tuned toward them.", committed=True,
        folder="default", regime="full_fine_tuning", label="full fine-tuning",
        trains="every weight of the GPT fine-tuned, 12-16 steps a run", cross_check="paper_size"),
    "paper_size": Scale(
        name="paper_size", model="smollm2-135m", encoder="minilm-mean", examples_shown=2,
        why="The book a reader gets: the paper's protocol (pool 200, 128 examples per run, batch 4, 96 steps, 32 "
            "runs) in the top-block regime (PAPER_SIZE_REGIME), one collection per experiment "
            "(PAPER_SIZE_COLLECTIONS, configs/paper_size/); WebNLG, WMT16 and the instruction-tuning mixture at a "
            "reduced protocol. Collected across sittings of a 2-core CPU (the dynamics chapter sums each run's wall "
            "time): a chapter leaves out a collection that is not complete yet and says how many of its runs are "
            "collected.", committed=True, folder="paper_size", regime="paper_size",
        label="paper size, top 2 blocks, warm-start",
        trains="the top 2 of 30 blocks trained on cached states of the frozen bottom, after a format warm-start on "
               "disjoint examples", cross_check="full_fine_tuning"),
}
"""The data regimes, each a scale of its own name that reads its own collections."""

DEFAULT_READS = "paper_size"
"""The regime the default book (`make book`, book/) reads: the paper-size collections, with the full fine-tuning ones
as its cross-check. Pointing the book at the other regime is this one edit (its cross-check follows)."""

SCALES: dict[str, Scale] = {"smoke": REGIMES["smoke"], "default": replace(REGIMES[DEFAULT_READS], name="default"),
                            **{name: s for name, s in REGIMES.items() if name != "smoke"}}
"""Every scale a book can be built at: the regimes, and `default`, the regime DEFAULT_READS under the book's name."""


@dataclass(frozen=True)
class TopBlockRegime:
    """The fine-tuning regime of the paper-size collections (configs/paper_size/), and why these settings."""

    top_blocks: int
    head: str
    lr: float
    warmup_examples: int
    warmup_steps: int
    warmup_lr: float
    why: str


PAPER_SIZE_REGIME = TopBlockRegime(
    top_blocks=2, head="untied", lr=1e-4, warmup_examples=64, warmup_steps=32, warmup_lr=1e-4,
    why="Full fine-tuning of SmolLM2-135M costs 5-30 s per step with per-step evaluation on this CPU, so the "
        "paper's size (32 runs of 96 steps per task) would take about 80 hours. The paper-size collections train "
        "the top 2 of its 30 blocks, the final norm and an untied copy of the LM head on hidden states of the frozen "
        "bottom, computed once per collection (12.5x faster per step than full fine-tuning, "
        "benchmarks/bench_top_blocks.py), after a format warm-start: 32 steps of batch 4 at lr 1e-4 on 64 examples "
        "disjoint from the collection's, then the paper's protocol at lr 1e-4. Chosen on SST-2 "
        "(benchmarks/sweep_top_blocks.py: 5 runs of 32 steps, 64 test examples per setting) by three curriculum-"
        "signal figures (lib/curriculum_signal.py): the share of the mean change in the first 2 steps, the final "
        "spread across runs relative to the per-example change, and the share of the held-out movement a "
        "curriculum-blind mean trajectory misses. The committed full fine-tuning SST-2 collection: 0.80, 0.039, "
        "0.007. Top 2 blocks with warm-start: 0.51, 0.55, 0.20; top 1: 0.32, 0.33, 0.11; top 4: 0.52, 0.49, 0.58 "
        "at about twice the cost per step of k = 2; lr 3e-5 (k = 2): 0.19, 0.14, 0.05 (less early movement, but "
        "little difference between curricula); lr 3e-4 (k = 2): spread 0.51 but erratic (some runs' loss "
        "rises back, early share -0.59); no warm-start (k = 2): 0.37, 0.034, 0.002, i.e. the runs learn the "
        "answer format (loss 3.83 -> 0.52) and differ no more than under full fine-tuning. The warm-start is what "
        "makes the trajectories depend on the curriculum; k = 2 is the cheapest setting with a clear spread. A frozen "
        "(tied) LM head (k = 2) gives 0.37, 0.47, 0.17, a similar signal; the head is trained as an untied copy "
        "because the papers' TracIn-CP and Grad-Dot use LM-head gradients (the official code's `embed_out`), which "
        "are then exact gradient dot products of trained parameters.")


@dataclass(frozen=True)
class PaperSizeCollection:
    """One collection of the paper-size book (configs/paper_size/<name>.toml): its size and why that size."""

    name: str
    runs: str           # train / val / test
    steps: int
    test_examples: int
    metrics: str
    why: str


PAPER_SIZE_COLLECTIONS: tuple[PaperSizeCollection, ...] = (
    PaperSizeCollection(
        "sst2", "25/2/5", 96, 64, "loss",
        "The paper's protocol (pool 200, 128 per run, batch 4, 3 epochs). Measured: 2,248 s for the 32 runs "
        "(about 70 s a run: training 0.3 s and evaluating 64 test examples 0.4 s per step)."),
    PaperSizeCollection(
        "rte", "25/2/5", 96, 64, "loss",
        "The paper's protocol. Measured: 165-200 s a run (longer premise / hypothesis prompts: evaluating 64 "
        "test examples takes 1.3 s per step, three quarters of a run), about 1.6 hours for the 32 runs."),
    PaperSizeCollection(
        "boolq", "25/2/5", 96, 64, "loss",
        "The paper's protocol. Measured: 185-210 s a run while sharing the CPU (passages make evaluation 1.6 s "
        "per step), about 1.8 hours for the 32 runs."),
    PaperSizeCollection(
        "sst2_unseen", "15/2/5", 96, 64, "loss",
        "The unseen-data experiment at the paper's protocol: 10 fitting runs and 5 future runs on the seen pool "
        "(train split), 2 validation runs, 5 future runs on a disjoint pool of 200 (test split); the experiment "
        "withholds half of the 64 test examples from fitting. About 26 minutes (SST-2's cost per run)."),
    PaperSizeCollection(
        "rte_unseen", "15/2/5", 96, 64, "loss",
        "As sst2_unseen, on RTE. Measured: 4,726 s for the 22 runs (160-230 s a run on a CPU shared with other "
        "work; evaluating 64 RTE prompts is three quarters of a run)."),
    PaperSizeCollection(
        "sst2_size2", "25/2/5", 96, 64, "loss",
        "Model size: Gemma-3-270M in the same regime and on the same pool, test examples and curricula as sst2 "
        "(SmolLM2-135M), so the two sizes are compared run by run. A Gemma run costs 5-15 minutes here (its "
        "untied 262k-token head is 6x SmolLM2's; median 345 s a run): 12,484 s for the 32 runs, collected across "
        "sittings on a CPU shared with other work."),
    PaperSizeCollection(
        "sst2_mislabel", "25/2/5", 96, 64, "loss",
        "The mislabel experiment (paper Fig 7): sst2 with 40% of the pool's labels flipped and gradient data on "
        "every run, so that TracIn-CP's self-influence scores every pool example some run trains on. Measured: "
        "3,533 s for the 32 runs (about 105 s a run on a shared CPU, of which 10 s are gradient dot products)."),
    PaperSizeCollection(
        "webnlg", "18/2/4", 48, 32, "loss, BLEU, ROUGE-L",
        "Generating at every step is what a step costs here: on 16 test prompts with 64 new tokens, one "
        "evaluation's generation took 213 s on a heavily shared CPU, of which the prompt prefill is 11% "
        "(benchmarks/bench_generation.py); continuing from the cached prompt prefix of the frozen bottom makes "
        "it 1.13x faster, the rest is decoding with the whole model (a run under decoding \"sample\" then cost "
        "1,876 s on a core of its own, 38 s per evaluation); finding the top-p nucleus among the 256 most probable "
        "tokens instead of sorting the 49,152-token vocabulary (decoding \"sample_fast\") takes an evaluation's "
        "generation from 36.5 to 27.1 CPU s; a lean decoding loop (lib/collect/decode.py: finished rows leave "
        "the batch, the KV cache filled in place; the same token ids as transformers' generate, bit for bit) "
        "takes it from 27.4 to 17.9 CPU s (benchmarks/bench_generation.py --decode). The paper's 32 runs of 96 "
        "steps would be "
        "3,072 generation passes, so this collection uses the smallest protocol the book accepts: 24 runs of "
        "48 steps (64 of the pool's 200 examples per run), 32 test examples, up to 64 new tokens (the 88th "
        "percentile of the references' length, median 32: a shorter cap would make BLEU measure the brevity "
        "penalty)."),
    PaperSizeCollection(
        "wmt16_de_en", "18/2/4", 48, 32, "loss, BLEU, ROUGE-L",
        "As webnlg, with up to 48 new tokens (the 92nd percentile of the references' length, median 23)."),
    PaperSizeCollection(
        "webnlg_unseen", "15/2/5", 48, 32, "loss, BLEU, ROUGE-L",
        "The unseen-data experiment on WebNLG, with webnlg's reduced steps and test set (16 test examples seen by "
        "the simulators, 16 unseen): 10 fitting runs, 5 future runs on the seen pool, 5 on an unseen pool of 200. "
        "Runs 0-16 are webnlg's, taken over from it (lib/collect/reuse.py): 5 runs are trained here."),
    PaperSizeCollection(
        "mixture", "18/2/4", 48, 48, "loss, BLEU, ROUGE-L",
        "Instruction tuning on the FLAN-style mixture of the six tasks (paper: pool 1200, 768 per run, batch 8, "
        "288 steps). Generating for 48 test examples at every step, up to 80 new tokens for CNN/DM's summaries "
        "(median 61 tokens), makes the paper's size out of reach here; the generation collections' reduced "
        "protocol with the paper's batch of 8: pool 240 (40 per task), 128 per run, 48 steps, 8 test examples "
        "per task."),
    PaperSizeCollection(
        "mixture_unseen", "15/2/5", 48, 48, "loss, BLEU, ROUGE-L",
        "The unseen-data experiment in instruction tuning (Table 12) with the mixture's settings: 10 fitting runs, 5 "
        "future runs on the seen pool, 5 on an unseen pool of 240 (40 per task). Runs 0-16 are the mixture's, taken "
        "over from it (lib/collect/reuse.py): 5 runs are trained here."),
)
"""The paper-size collections: measured cost and the size chosen for each (issue budget: about 12 hours here)."""


def paper_size_table() -> pd.DataFrame:
    """The paper-size collections' sizes and reasons, for the book's intro."""
    return pd.DataFrame([asdict(c) for c in PAPER_SIZE_COLLECTIONS]).set_index("name")


def get_scale(name: str) -> Scale:
    """The scale called `name`; an unknown name raises a ValueError listing the valid ones."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; valid scales: {', '.join(SCALES)}")
    return SCALES[name]


def cross_check_of(name: str) -> Scale | None:
    """The regime whose collections the book sets beside those of scale `name` (None where it has none)."""
    other = get_scale(name).cross_check
    return None if other is None else REGIMES[other]


def scales_table() -> pd.DataFrame:
    """All scales as a table for the book's intro."""
    return pd.DataFrame([asdict(s) for s in SCALES.values()]).set_index("name")
