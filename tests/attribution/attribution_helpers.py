"""Helpers of the attribution tests (a uniquely named module: the test folders are not packages)."""
from dataclasses import dataclass
from pathlib import Path

from lib.collect import collect, load_config
from lib.collect.head import LMParts
from lib.paths import REPO_ROOT

SMOKE = REPO_ROOT / "tests" / "collect" / "fixtures" / "configs" / "smoke_sst2.toml"

TRAIN_TEXTS = [
    ("the movie was great", " positive"), ("awful film, boring", " negative"), ("I loved every minute", " positive"),
    ("a dull mess", " negative"), ("superb acting", " positive"), ("waste of time", " negative"),
    ("charming and funny", " positive"), ("terrible plot", " negative"), ("a joy to watch", " positive"),
    ("clumsy and long", " negative"), ("brilliant score", " positive"), ("I fell asleep", " negative"),
    ("warm, witty, wise", " positive"), ("lifeless script", " negative"), ("pure delight", " positive"),
    ("not worth it", " negative"),
]
COPY_OF = 4  # test example 100 is training example 4 again (same text, another id)
TEST_TEXTS = {100: TRAIN_TEXTS[COPY_OF], 101: ("zzz qqq", " neutral"), 102: ("an odd little film", " positive")}
MISLABELLED = {200: (TRAIN_TEXTS[0][0], " negative")}  # training example 0's text with the other label


@dataclass
class TinyTop:
    """The model's parts, its encoded examples and boundary states, and the train / test ids."""

    parts: LMParts
    encoded: dict
    states: dict
    train_ids: list[int]
    test_ids: list[int]


def top_block_collection(tmp: Path) -> Path:
    """The smoke SST-2 collection (tiny-neox, 4 runs x 8 steps, held-out run 3) in the top-block regime, under tmp."""
    config = load_config(SMOKE).with_overrides(model={"regime": "top", "top_blocks": 1},
                                               runtime={"threads": 1, "cache_dir": str(tmp / "cache")})
    return collect(config, tmp / "top", progress=False)
