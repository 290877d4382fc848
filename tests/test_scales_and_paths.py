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
