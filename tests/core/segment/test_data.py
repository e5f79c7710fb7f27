import pytest

from core.segment import data as data_module
from core.segment.data import build_cache, shared_positions
from core.segment.train import TrainConfig


def test_shared_positions_spread_the_share_evenly():
    assert shared_positions(6, 0.5) == [False, True, False, True, False, True]
    assert shared_positions(8, 0.25) == [False, False, False, True] * 2
    assert shared_positions(4, 1.0) == [True] * 4
    assert shared_positions(4, 0.0) == [False] * 4
    assert sum(shared_positions(300, 0.5)) == 150
    assert sum(shared_positions(300, 1 / 3)) == 100
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        shared_positions(3, 1.5)


def test_build_cache_gives_the_overrides_to_the_share_only(monkeypatch, make_case):
    asked = []

    def fake_source(seed, overrides=None):
        asked.append((seed, overrides))
        series, labels = make_case(seed, t=2, shape=(32, 32), spacing=(1.5, 1.5))
        return series.frames, labels, series.spacing_mm

    monkeypatch.setattr(data_module, "phantom_source", fake_source)
    over = {"anatomy_variation": 1.0}
    cache = build_cache((), [10, 11, 12, 13], over, n_classes=4, spacing_mm=1.5, canvas=32,
                        override_share=0.5)
    assert asked == [(10, None), (11, over), (12, None), (13, over)]
    assert len(cache) == 8 and cache.case_index.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    asked.clear()
    build_cache((), [10, 11], over, n_classes=4, spacing_mm=1.5, canvas=32)
    assert asked == [(10, over), (11, over)]  # the default share: every case


def test_train_config_checks_and_records_the_share():
    cfg = TrainConfig(phantom_overrides={"anatomy_variation": 1.0}, override_share=0.5)
    assert cfg.to_dict()["override_share"] == 0.5
    with pytest.raises(ValueError, match="override_share"):
        TrainConfig(override_share=-0.1)
