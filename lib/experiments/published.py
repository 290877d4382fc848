"""Published linear datamodeling scores (LDS) of gradient-based attribution on GPT-2, beside which the book puts its
score across runs. Figures as their sources report them (not recomputed here); `url` is where each is stated.

TRAK has no row: no published LDS of TRAK on a language model comparable to ours is among the sources the book can
cite as reported (the papers and the installed packages' documentation); a figure is added here only with its
source, never from memory."""
from __future__ import annotations

import pandas as pd

PUBLISHED_LDS = pd.DataFrame([
    {"source": "kronfluence, WikiText-2 example", "model": "GPT-2 fine-tuned on WikiText-2",
     "method": "influence functions (EK-FAC)", "LDS": 0.44,
     "ground truth": "500 retrained models: 100 random data subsets x 5 seeds",
     "url": "https://github.com/pomonam/kronfluence/blob/main/examples/wikitext/README.md"},
    {"source": "kronfluence, WikiText-2 example", "model": "GPT-2 fine-tuned on WikiText-2",
     "method": "gradient dot product (Grad-Dot, TracIn at one checkpoint)", "LDS": 0.12,
     "ground truth": "500 retrained models: 100 random data subsets x 5 seeds",
     "url": "https://github.com/pomonam/kronfluence/blob/main/examples/wikitext/README.md"},
])
"""One row per published figure: where, which model and method, the LDS as reported, and its ground truth."""

SETTINGS_DIFFER = (
    "There, each retraining drops a random part of the training set, trains to the end and records the loss of every "
    "test sequence, and the LDS correlates, per test sequence, the attribution's predicted loss with the actual one "
    "across retrainings; here the retrainings are held-out runs that differ in which pool examples they draw and "
    "in their order, and the prediction is a simulator's rollout of the final value. Both rank retrainings per test "
    "example, but with hundreds of retrainings there and a handful here, and on another model and data.")
"""How the published settings differ from ours, for the sentence beside the numbers."""
