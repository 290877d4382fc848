"""The committed full fine-tuning collections (regime "full_fine_tuning", configs/default): real GPTs, consistent
shapes, and simulable by Simfluence, whichever regime the default book reads (lib.scales.DEFAULT_READS)."""
import pytest

from lib.collect.coverage import unfitted_training_ids
from lib.experiments.settings import FINE_TUNING_TASKS, GENERATION_TASKS, INSTRUCTION_TUNING
from lib.experiments.store import collection_config

REGIME = "full_fine_tuning"
"""The regime of these collections (lib.scales.REGIMES), not the scale "default", which reads DEFAULT_READS."""
BOOK = [*FINE_TUNING_TASKS, INSTRUCTION_TUNING, "sst2_mislabel", "sst2_size2", "sst2_unseen"]


@pytest.mark.parametrize("name", [*FINE_TUNING_TASKS, INSTRUCTION_TUNING, "sst2_mislabel", "sst2_size2"])
def test_every_held_out_run_trains_only_on_examples_a_training_run_saw(name):
    # Simfluence has one parameter pair per training example seen in the training runs; the run seeds were
    # chosen so that this holds, and a changed config must keep it.
    assert unfitted_training_ids(collection_config(REGIME, name)) == {"val": [], "test": []}


@pytest.mark.parametrize("name", BOOK)
def test_full_fine_tuning_collections_fine_tune_a_real_gpt_in_fp32_with_held_out_runs(name):
    config = collection_config(REGIME, name)
    assert config.model.name in ("smollm2-135m", "gemma3-270m") and not config.training.bf16
    assert config.runs.val >= 1 and config.runs.test >= 1 and config.training.steps >= 12


def test_generation_collections_record_bleu_and_rouge_and_gradients_on_test_runs():
    for name in (*GENERATION_TASKS, INSTRUCTION_TUNING):
        config = collection_config(REGIME, name)
        assert set(config.metrics) == {"loss", "bleu", "rougeL"} and "test" in config.gradients.splits


def test_size_collection_differs_from_sst2_only_in_model():
    """Equal run counts and the run seed: both sizes are fitted on the same curricula and scored on the same
    held-out runs (issue: experiment designs, model size)."""
    base, size = collection_config(REGIME, "sst2"), collection_config(REGIME, "sst2_size2")
    assert size.model.name == "gemma3-270m" and base.model.name == "smollm2-135m"
    assert (size.data, size.training, size.metrics, size.runs) == (base.data, base.training, base.metrics, base.runs)


@pytest.mark.parametrize("name", BOOK)
def test_every_full_fine_tuning_collection_is_committed_complete_for_its_config(name):
    # A book reads these folders (as its own collections or as the cross-check) and never trains: a fresh clone must
    # have every run of every config.
    import subprocess

    from lib.collect import completed_runs
    from lib.experiments.store import dynamics_folder
    from lib.paths import REPO_ROOT

    config, folder = collection_config(REGIME, name), dynamics_folder(REGIME, name)
    assert completed_runs(folder, config.config_hash) == list(range(config.runs.total))
    tracked = subprocess.run(["git", "ls-files", str(folder.relative_to(REPO_ROOT))], cwd=REPO_ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert sum(path.endswith("/run.json") for path in tracked) == config.runs.total  # not hidden by .gitignore


def test_both_model_sizes_hold_the_same_curricula():
    """The committed full fine-tuning collections of both sizes trained the same curricula, run by run."""
    from lib.experiments.store import dynamics

    base, size = dynamics(REGIME, "sst2"), dynamics(REGIME, "sst2_size2")
    assert base.n_runs == size.n_runs and list(base.split) == list(size.split)
    assert (base.curricula == size.curricula).all()
