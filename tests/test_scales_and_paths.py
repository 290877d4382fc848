import pytest

from lib import paths
from lib.scales import SCALES, get_scale, scales_table


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    assert paths.data_dir() == paths.REPO_ROOT.parent / "shared" / "data"
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    assert paths.data_dir() == tmp_path
    assert paths.data_dir(tmp_path / "x") == tmp_path / "x"


def test_cache_dir_from_env_is_created(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_scales_table_and_unknown_scale():
    assert list(scales_table().index) == list(SCALES)
    assert get_scale("smoke").model == "tiny-neox"
    with pytest.raises(ValueError, match="'huge'.*smoke"):
        get_scale("huge")


def test_a_scale_reads_the_collections_of_its_regime_and_the_default_reads_default_reads(monkeypatch):
    from lib import scales

    default = get_scale("default")
    assert default.name == "default" and default.regime == scales.DEFAULT_READS
    assert default.folder == scales.REGIMES[scales.DEFAULT_READS].folder
    assert default.why == scales.REGIMES[scales.DEFAULT_READS].why  # the intro quotes the data's reason
    for name, regime in scales.REGIMES.items():
        assert regime.regime == name and get_scale(name) == regime and regime.folder
    assert get_scale("full_fine_tuning").folder == "default"  # the committed full fine-tuning collections
    assert get_scale("paper_size").folder == "paper_size"


def test_each_committed_regime_is_the_others_cross_check():
    from lib.scales import cross_check_of

    assert cross_check_of("paper_size").name == "full_fine_tuning"
    assert cross_check_of("full_fine_tuning").name == "paper_size"
    assert cross_check_of("default").name == get_scale(get_scale("default").cross_check).name
    assert cross_check_of("default").regime != get_scale("default").regime  # never the collections themselves
