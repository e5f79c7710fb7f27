import numpy as np
import pytest

from core.segment import data as data_module
from core.segment.data import (
    _stack_releasing,
    build_cache,
    resolve_overrides,
    shared_positions,
)
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
    assert asked == [(10, {}), (11, over), (12, {}), (13, over)]
    assert len(cache) == 8 and cache.case_index.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    asked.clear()
    build_cache((), [10, 11], over, n_classes=4, spacing_mm=1.5, canvas=32)
    assert asked == [(10, over), (11, over)]  # the default share: every case
    asked.clear()
    drawn = {"gamma": {"log_uniform": [0.5, 2.0]}, "anatomy_variation": 1.0}
    build_cache((), [10, 11], drawn, n_classes=4, spacing_mm=1.5, canvas=32)
    assert [a[1]["anatomy_variation"] for a in asked] == [1.0, 1.0]
    gammas = [a[1]["gamma"] for a in asked]
    assert all(0.5 <= g <= 2.0 for g in gammas) and gammas[0] != gammas[1]


def test_resolve_overrides_draws_each_case_its_own_value():
    over = {"gamma": {"log_uniform": [0.55, 1.8]}, "snr": {"uniform": [4, 8]}, "bowel_mm": 3.0}
    draws = [resolve_overrides(over, seed) for seed in range(200)]
    assert draws[7] == resolve_overrides(over, 7)  # deterministic by seed
    assert all(d["bowel_mm"] == 3.0 for d in draws)  # fixed values pass through
    gammas = [d["gamma"] for d in draws]
    snrs = [d["snr"] for d in draws]
    assert 0.55 <= min(gammas) < 0.6 and 1.7 < max(gammas) <= 1.8
    assert 4 <= min(snrs) < 4.2 and 7.8 < max(snrs) <= 8
    # log-uniform: the geometric middle splits the draws about in half
    assert 80 < sum(g < (0.55 * 1.8) ** 0.5 for g in gammas) < 120
    assert over["gamma"] == {"log_uniform": [0.55, 1.8]}  # the input is left as it was
    assert resolve_overrides(None, 3) == {}


def test_with_probability_sets_a_value_in_a_share_of_the_cases():
    over = {"contrast": {"with_probability": ["t1", 0.3]}, "gamma": {"uniform": [0.5, 2.0]},
            "fat_suppressed": {"with_probability": [True, 0.5]}}
    draws = [resolve_overrides(over, seed) for seed in range(400)]
    assert draws[11] == resolve_overrides(over, 11)
    t1 = [d.get("contrast") for d in draws]
    assert set(t1) == {"t1", None}  # otherwise the phantom's own draw is left alone
    assert 0.24 < t1.count("t1") / 400 < 0.36
    assert 0.43 < sum("fat_suppressed" in d for d in draws) / 400 < 0.57
    # The two keys are drawn independently of each other ...
    both = sum(d.get("contrast") == "t1" and "fat_suppressed" in d for d in draws)
    assert 0.10 < both / 400 < 0.20
    # ... and adding them leaves the other keys' draws as they were.
    plain = [resolve_overrides({"gamma": {"uniform": [0.5, 2.0]}}, s) for s in range(400)]
    assert [d["gamma"] for d in draws] == [d["gamma"] for d in plain]
    assert resolve_overrides({"contrast": {"with_probability": ["t1", 0.0]}}, 5) == {}
    assert resolve_overrides({"contrast": {"with_probability": ["t1", 1.0]}}, 5) == {
        "contrast": "t1"}


@pytest.mark.parametrize("bad", [
    {"gamma": {"with_probability": [1.0, 1.5]}},
    {"gamma": {"with_probability": 3}},
    {"gamma": {"normal": [1, 2]}},
    {"gamma": {"uniform": [2, 1]}},
    {"gamma": {"log_uniform": [0, 1]}},
    {"gamma": {"uniform": "x"}},
    {"gamma": {"uniform": [1, 2], "log_uniform": [1, 2]}},
])
def test_malformed_drawn_overrides_are_refused(bad):
    with pytest.raises(ValueError, match="override 'gamma'"):
        resolve_overrides(bad, 0)
    with pytest.raises(ValueError, match="override 'gamma'"):
        TrainConfig(phantom_overrides=bad)


def test_train_config_checks_and_records_the_share():
    cfg = TrainConfig(phantom_overrides={"anatomy_variation": 1.0}, override_share=0.5)
    assert cfg.to_dict()["override_share"] == 0.5
    with pytest.raises(ValueError, match="override_share"):
        TrainConfig(override_share=-0.1)


def test_labelled_folder_source_keeps_evenly_spaced_frames(tmp_path, make_case,
                                                           write_labelled_case):
    import numpy as np

    from core.segment.data import labelled_folder_source

    series, labels = make_case(0, t=7, shape=(40, 48), spacing=(1.2, 1.3))
    write_labelled_case(tmp_path / "c0", series.frames, labels.astype(np.uint8))
    frames, lab, spacing = labelled_folder_source(tmp_path / "c0", 4, frames_per_case=3)
    assert frames.shape == lab.shape == (3, 40, 48) and lab.dtype == np.uint8
    assert np.allclose(spacing, (1.2, 1.3))
    np.testing.assert_array_equal(lab, labels[[0, 3, 6]])
    np.testing.assert_allclose(frames, series.frames[[0, 3, 6]], rtol=1e-6)
    frames, lab, _ = labelled_folder_source(tmp_path / "c0", 4)
    assert len(frames) == 7


def test_labelled_folder_source_refuses_what_does_not_fit(tmp_path, make_case,
                                                         write_labelled_case):
    import numpy as np

    from core.segment.data import labelled_folder_source

    series, labels = make_case(0, t=3, shape=(32, 32), spacing=(1.5, 1.5))
    with pytest.raises(ValueError, match="needs series"):
        labelled_folder_source(tmp_path, 4)
    write_labelled_case(tmp_path / "short", series.frames, labels[:2].astype(np.uint8))
    with pytest.raises(ValueError, match="do not fit"):
        labelled_folder_source(tmp_path / "short", 4)
    write_labelled_case(tmp_path / "many", series.frames, labels.astype(np.uint8) * 3)
    with pytest.raises(ValueError, match=r"integers in 0\.\.3"):
        labelled_folder_source(tmp_path / "many", 4)


def test_labelled_case_series_may_be_a_dicom_folder(tmp_path, make_case):
    import numpy as np

    from core.io.dicom_write import write_dicom_series
    from core.segment.data import labelled_case_folders, read_labelled_case

    series, labels = make_case(0, t=3, shape=(40, 36), spacing=(1.3, 1.2))
    case = tmp_path / "dicom_case"
    write_dicom_series(series, case / "series", shuffle_names=True)
    np.save(case / "truth.npy", labels.astype(np.uint8))
    assert labelled_case_folders(tmp_path) == [case]
    back, lab = read_labelled_case(case, 4)
    assert back.frames.shape == lab.shape == (3, 40, 36)
    assert np.allclose(back.spacing_mm, (1.3, 1.2))
    np.testing.assert_array_equal(lab, labels)
    np.testing.assert_allclose(back.frames, series.frames, atol=1.0)


def test_sources_prepared_in_worker_processes_equal_those_prepared_here(make_case):
    import torch

    sources = []
    for seed in (1, 2, 3):
        series, labels = make_case(seed, t=2, shape=(40, 36), spacing=(1.3, 1.2))
        sources.append((series.frames, labels, series.spacing_mm))
    here = build_cache(sources, (), n_classes=4, spacing_mm=1.5, canvas=32)
    there = build_cache(sources, (), n_classes=4, spacing_mm=1.5, canvas=32, workers=2)
    for name in ("images", "labels", "sdf", "case_index"):
        assert torch.equal(getattr(here, name), getattr(there, name)), name
    assert here.case_index.tolist() == [0, 0, 1, 1, 2, 2]


def test_cache_holds_the_prepared_frames_in_float16(make_case):
    import torch

    from core.segment.data import prepare_source

    series, labels = make_case(4, t=3, shape=(40, 36), spacing=(1.3, 1.2))
    source = (series.frames, labels, series.spacing_mm)
    cache = build_cache([source, source], (), n_classes=4, spacing_mm=1.5, canvas=32)
    img, lab, sdf = prepare_source(source, 4, 1.5, 32)
    assert cache.images.dtype == cache.sdf.dtype == torch.float16
    assert cache.images.shape == (6, 1, 32, 32) and cache.sdf.shape == (6, 4, 32, 32)
    # the float32 preparation rounded to float16, once per frame, in the source order
    assert torch.equal(cache.images[3:], torch.from_numpy(img).half())
    assert torch.equal(cache.sdf[:3], torch.from_numpy(sdf).half())
    assert torch.equal(cache.labels[:3], torch.from_numpy(lab))


def test_stack_releasing_matches_concatenate_and_drops_copied_parts():
    rng = np.random.default_rng(0)
    parts = [[rng.random((n, 1, 4, 4)).astype(np.float16),
              rng.integers(0, 4, (n, 4, 4)).astype(np.uint8),
              rng.random((n, 4, 4, 4)).astype(np.float16)] for n in (3, 1, 5)]
    expected = [np.concatenate([p[k] for p in parts]) for k in range(3)]
    got = _stack_releasing(parts)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == e.dtype
        np.testing.assert_array_equal(g, e)
    assert all(entry is None for p in parts for entry in p)


def test_stack_releasing_rejects_frames_of_different_shapes():
    parts = [[np.zeros((2, 1, 4, 4)), np.zeros((2, 4, 4)), np.zeros((2, 4, 4, 4))],
             [np.zeros((1, 1, 5, 5)), np.zeros((1, 5, 5)), np.zeros((1, 4, 5, 5))]]
    with pytest.raises(ValueError, match="different shapes"):
        _stack_releasing(parts)


def test_stack_releasing_trims_the_heap_as_parts_are_freed(monkeypatch):
    calls = []
    monkeypatch.setattr(data_module, "_TRIM_EVERY_BYTES", 100)
    monkeypatch.setattr(data_module, "_malloc_trim", lambda: calls.append(1))
    parts = [[np.ones((2, 1, 4, 4), np.float16), np.ones((2, 4, 4), np.uint8),
              np.ones((2, 4, 4, 4), np.float16)] for _ in range(4)]
    got = _stack_releasing(parts)
    assert [g.shape[0] for g in got] == [8, 8, 8]
    # images: 64 bytes a part → a trim after every second part (2); labels: 32 bytes
    # (1, at the fourth part); sdf: 256 bytes (4); and one at the end.
    assert len(calls) == 2 + 1 + 4 + 1


def test_malloc_trim_is_safe_to_call():
    data_module._malloc_trim()  # glibc: hands free pages back; elsewhere: nothing
    data_module._malloc_trim()  # the library is looked up once and reused
    assert data_module._libc is not None
