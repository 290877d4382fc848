"""Data attribution with the field's libraries: EK-FAC influence (kronfluence) and TRAK (traker).

Both score every (training example, test example) pair of one model state of the top-block regime
(only the top k blocks, the final norm and the untied LM head train; lib/collect/top_blocks.py):

    from lib.attribution import TrainedPart, ekfac_scores, trak_scores
    part = TrainedPart.of(parts)                     # the trained parameters as one module
    scores = ekfac_scores(part, train, tests)        # [n_train, n_tests]; > 0: the example lowers the test loss

Sign convention (the same as TracIn-CP / Grad-Dot's dot products): a positive score means that training
on the example lowers the test example's loss. Stored per held-out run by lib/attribution/store.py.

Self-influence (every pool example against itself, for mislabel rankings; self_influence.py):

    vector = ekfac_self_scores(part, pool)           # SelfInfluence: scores >= 0, larger = more suspicious
    by_id = self_influence(collection_folder, "ekfac")  # {pool id: mean over the stored runs}
"""
from lib.attribution.batches import AttributionBatch, ExampleSet, example_set
from lib.attribution.ekfac import EKFACSettings, ekfac_scores, ekfac_self_scores
from lib.attribution.result import AttributionResult
from lib.attribution.self_influence import SelfInfluence
from lib.attribution.store import load_self_scores, save_self_scores, self_influence, self_score_path
from lib.attribution.trained_part import TrainedPart
from lib.attribution.trak import TRAKSettings, trak_scores, trak_self_scores

__all__ = [
    "AttributionBatch",
    "AttributionResult",
    "EKFACSettings",
    "ExampleSet",
    "SelfInfluence",
    "TRAKSettings",
    "TrainedPart",
    "ekfac_scores",
    "ekfac_self_scores",
    "example_set",
    "load_self_scores",
    "save_self_scores",
    "self_influence",
    "self_score_path",
    "trak_scores",
    "trak_self_scores",
]
