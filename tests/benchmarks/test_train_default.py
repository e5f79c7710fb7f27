"""The command line of benchmarks/train_default.py (the shipped model's recipe)."""

import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("train_default")


def test_the_default_recipe_has_no_overrides(script):
    cfg, args = script.build_config(["--out", "x"])
    assert cfg.phantom_overrides == {} and cfg.override_share == 1.0
    assert cfg.train_seeds() == tuple(range(300)) and cfg.lr == script.RECIPE["lr"]
    assert args.out == "x" and cfg.augment.p_band == 0.0 and cfg.seed == script.RECIPE["seed"]


def test_the_training_seed_can_be_chosen(script):
    cfg, _ = script.build_config(["--out", "x", "--seed", "7"])
    assert cfg.seed == 7


def test_hard_frames_are_asked_for_by_share_of_a_fine_tune(script):
    default, _ = script.build_config(["--out", "x"])
    cfg, _ = script.build_config(["--out", "x", "--init-model", "default",
                                  "--hard-share", "0.5"])
    assert default.hard_share == 0.0 and cfg.hard_share == 0.5


def test_the_reference_dice_of_the_adaptive_loss_can_be_fixed(script):
    default, _ = script.build_config(["--out", "x"])
    cfg, _ = script.build_config(["--out", "x", "--dice-first", "1.0"])
    assert default.loss_kw == {"lam": 1.0}
    assert cfg.loss_kw == {"lam": 1.0, "dice_first": 1.0}
    assert script.RECIPE["loss_kw"] == {"lam": 1.0}  # the recipe itself is not changed


def test_the_bias_field_amplitude_can_be_chosen(script):
    default, _ = script.build_config(["--out", "x"])
    cfg, _ = script.build_config(["--out", "x", "--bias", "1.0", "--decoy-prob", "0.3"])
    assert cfg.augment.bias == 1.0 and cfg.augment.p_decoy == 0.3
    assert default.augment.bias == 0.5


def test_band_and_curve_augmentations_are_asked_for_by_share(script):
    cfg, _ = script.build_config(["--out", "x", "--band-prob", "0.3"])
    assert cfg.augment.p_band == 0.3 and cfg.augment.p_lut == 0.0
    assert cfg.to_dict()["augment"]["p_band"] == 0.3  # recorded in the model config
    cfg, _ = script.build_config(["--out", "x", "--band-prob", "0.3", "--lut-prob", "0.2"])
    assert (cfg.augment.p_band, cfg.augment.p_lut) == (0.3, 0.2)
    cfg, _ = script.build_config(["--out", "x", "--decoy-prob", "0.25"])
    assert cfg.augment.p_decoy == 0.25 and cfg.to_dict()["augment"]["p_decoy"] == 0.25
    cfg, _ = script.build_config(["--out", "x", "--copy-prob", "0.3"])
    assert cfg.augment.p_copy == 0.3 and cfg.augment.p_decoy == 0.0
    cfg, _ = script.build_config(["--out", "x", "--ghost-prob", "0.2"])
    assert cfg.augment.p_ghost == 0.2 and cfg.to_dict()["augment"]["p_ghost"] == 0.2
    assert cfg.augment.p_copy == 0.0
    cfg, _ = script.build_config(["--out", "x", "--swell-prob", "0.25"])
    assert cfg.augment.p_swell == 0.25 and cfg.to_dict()["augment"]["p_swell"] == 0.25
    assert cfg.augment.p_ghost == 0.0
    cfg, _ = script.build_config(["--out", "x", "--organ-prob", "0.4"])
    assert cfg.augment.p_organ == 0.4 and cfg.to_dict()["augment"]["p_organ"] == 0.4
    assert cfg.augment.p_swell == 0.0


def test_wider_anatomy_and_gamma_go_to_the_shared_cases(script):
    cfg, _ = script.build_config([
        "--out", "x", "--init-model", "default", "--seeds", "0-9", "--anatomy-variation", "1",
        "--gamma-range", "0.55", "1.8", "--variation-share", "0.5", "--lr", "1e-4"])
    assert cfg.phantom_overrides == {"anatomy_variation": 1.0,
                                     "gamma": {"log_uniform": [0.55, 1.8]}}
    assert cfg.override_share == 0.5 and cfg.init_model == "default"
    assert cfg.train_seeds() == tuple(range(10)) and cfg.lr == 1e-4
    cfg, _ = script.build_config(["--out", "x", "--gamma-range", "0.7", "1.4"])
    assert cfg.phantom_overrides == {"gamma": {"log_uniform": [0.7, 1.4]}}


def test_t1_and_fat_suppression_are_drawn_per_shared_case(script):
    cfg, _ = script.build_config(["--out", "x", "--anatomy-variation", "1", "--t1-prob", "0.4",
                                  "--fat-suppressed-prob", "0.3", "--variation-share", "0.5"])
    assert cfg.phantom_overrides == {"anatomy_variation": 1.0,
                                     "contrast": {"with_probability": ["t1", 0.4]},
                                     "fat_suppressed": {"with_probability": [True, 0.3]}}
    assert cfg.to_dict()["phantom_overrides"]["contrast"] == {"with_probability": ["t1", 0.4]}


def test_hysterectomy_is_drawn_per_shared_case(script):
    cfg, _ = script.build_config(["--out", "x", "--hysterectomy-prob", "0.3"])
    assert cfg.phantom_overrides == {"hysterectomy": {"with_probability": [True, 0.3]}}


def test_empty_bladder_is_drawn_per_shared_case(script):
    cfg, _ = script.build_config(["--out", "x", "--empty-bladder-prob", "0.2",
                                  "--hysterectomy-prob", "0.3"])
    assert cfg.phantom_overrides == {"hysterectomy": {"with_probability": [True, 0.3]},
                                     "empty_bladder": {"with_probability": [True, 0.2]}}


def test_fibroids_and_the_neck_funnel_are_drawn_per_shared_case(script):
    cfg, _ = script.build_config(["--out", "x", "--fibroid-prob", "0.3", "--funnel-prob",
                                  "0.25", "--variation-share", "0.5"])
    assert cfg.phantom_overrides == {"fibroid_uterus": {"with_probability": [True, 0.3]},
                                     "neck_funnel": {"with_probability": [True, 0.25]}}
    assert cfg.override_share == 0.5


def test_the_sigmoid_and_the_large_uterus_are_drawn_per_shared_case(script):
    cfg, _ = script.build_config(["--out", "x", "--sigmoid-prob", "0.6",
                                  "--large-uterus-prob", "0.4", "--variation-share", "0.5"])
    assert cfg.phantom_overrides == {"sigmoid_colon": {"with_probability": [True, 0.6]},
                                     "large_uterus": {"with_probability": [True, 0.4]}}


def test_the_absent_bladder_and_iso_urine_are_drawn_per_shared_case(script):
    cfg, _ = script.build_config(["--out", "x", "--absent-bladder-prob", "0.1",
                                  "--iso-urine-prob", "0.25"])
    assert cfg.phantom_overrides == {"absent_bladder": {"with_probability": [True, 0.1]},
                                     "iso_urine": {"with_probability": [True, 0.25]}}


def test_every_phantom_option_is_a_phantom_parameter(script):
    from core.phantom.params import OVERRIDABLE
    assert {key for _, key, _, _ in script.PHANTOM_OPTIONS} <= set(OVERRIDABLE)


@pytest.mark.parametrize(("argv", "message"), [
    (["--t1-prob", "1.5"], "--t1-prob"),
    (["--fat-suppressed-prob", "-1"], "--fat-suppressed-prob"),
    (["--hysterectomy-prob", "1.2"], "--hysterectomy-prob"),
    (["--empty-bladder-prob", "-0.2"], "--empty-bladder-prob"),
    (["--fibroid-prob", "1.1"], "--fibroid-prob"),
    (["--funnel-prob", "-0.1"], "--funnel-prob"),
    (["--sigmoid-prob", "1.3"], "--sigmoid-prob"),
    (["--large-uterus-prob", "-0.3"], "--large-uterus-prob"),
    (["--absent-bladder-prob", "1.4"], "--absent-bladder-prob"),
    (["--iso-urine-prob", "-0.5"], "--iso-urine-prob"),
    (["--band-prob", "1.5"], "--band-prob"),
    (["--gamma-range", "1.8", "0.55"], "--gamma-range"),
    (["--gamma-range", "0", "1"], "--gamma-range"),
    (["--variation-share", "1.5"], "--variation-share"),
    (["--band-prob", "2"], "--band-prob"),
    (["--bias", "-1"], "--bias"),
    (["--dice-first", "0"], "dice_first must be a finite number > 0, got 0.0"),
    (["--dice-first", "nan"], "dice_first must be a finite number > 0, got nan"),
    (["--dice-first", "1", "--loss", "dice"], "dice_first needs loss dice_adaptive, not dice"),
    (["--lut-prob", "-0.1"], "--lut-prob"),
    (["--decoy-prob", "1.1"], "--decoy-prob"),
    (["--copy-prob", "-0.5"], "--copy-prob"),
    (["--ghost-prob", "1.5"], "--ghost-prob"),
    (["--swell-prob", "-0.1"], "--swell-prob"),
    (["--anatomy-variation", "-1"], "--anatomy-variation"),
    (["--seeds", "990-1005"], "seeds >= 1000"),
    (["--crop", "100"], "crop must be a multiple"),
    (["--hard-share", "0.5"], "hard_share needs init_model"),
    (["--hard-share", "2", "--init-model", "default"], "hard_share must be in [0, 1]"),
])
def test_misuse_is_one_line_and_exit_2(script, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        script.build_config(["--out", "x", *argv])
    assert exc.value.code == 2
    # The error itself (argparse's last line), not the usage line, which names every flag.
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def _two_labelled_cases(top, write_labelled_case):
    """Cases alt_1 and alt_2 (5 frames of 32 x 40, bladder and rectum) under ``top``."""
    import numpy as np

    rng = np.random.default_rng(0)
    labels = np.zeros((5, 32, 40), np.uint8)
    labels[:, 8:20, 10:25] = 1
    labels[:, 22:28, 20:30] = 3
    for name in ("alt_1", "alt_2"):
        write_labelled_case(top / name, rng.random((5, 32, 40)), labels)


def test_labelled_cases_become_sources_and_are_recorded(script, tmp_path,
                                                        write_labelled_case):
    _two_labelled_cases(tmp_path / "cases", write_labelled_case)
    cfg, _ = script.build_config(["--out", "x", "--labelled", str(tmp_path / "cases"),
                                  "--labelled-frames", "3"])
    assert len(cfg.sources) == 2 and all(len(s[0]) == 3 for s in cfg.sources)
    assert cfg.to_dict()["n_sources"] == 2
    assert cfg.sources_note.endswith("2 cases (alt_1..alt_2), 3 frames each")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exc:
        script.build_config(["--out", "x", "--labelled", str(tmp_path / "empty")])
    assert exc.value.code == 2


def _small_caches(cfg):
    """The labelled sources only, on a 32 x 32 canvas: no phantom case is generated."""
    from core.segment.data import build_cache

    return (build_cache(cfg.sources, (), n_classes=4, spacing_mm=1.5, canvas=32),
            build_cache(cfg.sources[:1], (), n_classes=4, spacing_mm=1.5, canvas=32))


def test_an_interrupted_run_resumes_from_its_last_checkpoint(script, tmp_path, capsys,
                                                             write_labelled_case,
                                                             monkeypatch):
    import json

    _two_labelled_cases(tmp_path / "cases", write_labelled_case)
    monkeypatch.setattr(script, "build_caches", _small_caches)
    run = tmp_path / "run"
    argv = ["--out", str(run), "--labelled", str(tmp_path / "cases"), "--labelled-frames",
            "3", "--crop", "32", "--batch-size", "2", "--steps-per-epoch", "2",
            "--warmup-steps", "1", "--device", "cpu", "--workers", "1",
            "--data-store", str(tmp_path / "store")]  # the patched caches go through it
    assert script.main([*argv, "--epochs", "1"]) == 0  # stands for a run cut off after epoch 1
    assert json.loads((run / "last_state.json").read_text())["epoch"] == 1
    capsys.readouterr()
    assert script.main([*argv, "--epochs", "2", "--resume"]) == 0
    out = capsys.readouterr().out
    assert "validate 2/2" in out and "validate 1/2" not in out  # epoch 1 was not redone
    assert json.loads((run / "last_state.json").read_text())["epoch"] == 2
    assert (run / "model.safetensors").is_file()
    # Without --resume the same folder starts afresh.
    assert script.main([*argv, "--epochs", "2"]) == 0
    assert "validate 1/2" in capsys.readouterr().out


def test_a_data_store_prepares_once_and_loads_after(script, tmp_path, write_labelled_case,
                                                   monkeypatch):
    import torch

    _two_labelled_cases(tmp_path / "cases", write_labelled_case)
    built = []

    def small_caches(cfg):
        built.append(len(cfg.sources))
        return _small_caches(cfg)

    monkeypatch.setattr(script, "build_caches", small_caches)
    argv = ["--out", "x", "--labelled", str(tmp_path / "cases"), "--labelled-frames", "3",
            "--data-store", str(tmp_path / "store")]
    cfg, args = script.build_config(argv)
    assert len(cfg.sources) == 2 and cfg.stored_data is None
    first = script.prepared_data(cfg, args)
    assert built == [2] and len(first[0]) == 6
    assert (tmp_path / "store" / args.data_key / "key.json").is_file()

    cfg2, args2 = script.build_config(argv)  # the same data: loaded, the cases not read
    assert args2.data_key == args.data_key and cfg2.stored_data == args.data_key
    assert cfg2.sources == [] and cfg2.to_dict()["stored_data"] == args.data_key
    again = script.prepared_data(cfg2, args2)
    assert built == [2]
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.images, b.images) and torch.equal(a.sdf, b.sdf)
        assert torch.equal(a.labels, b.labels)

    # Other frames per case: another key, prepared again.
    cfg3, args3 = script.build_config([*argv[:-4], "--labelled-frames", "2",
                                       *argv[-2:]])
    assert args3.data_key != args.data_key and cfg3.stored_data is None
    script.prepared_data(cfg3, args3)
    assert built == [2, 2]
    # A store that cannot be written costs the store, not the run: the frames come back.
    def full_disk(*_args, **_kw):
        raise OSError("No space left on device")

    monkeypatch.setattr(script, "save_entry", full_disk)
    cfg5, args5 = script.build_config([*argv[:-4], "--labelled-frames", "1", *argv[-2:]])
    frames = script.prepared_data(cfg5, args5)
    assert len(frames[0]) == 2 and built == [2, 2, 2]
    assert not (tmp_path / "store" / args5.data_key).exists()
    # Without --data-store nothing is stored or loaded.
    cfg4, args4 = script.build_config(argv[:-2])
    assert script.prepared_data(cfg4, args4) is None and args4.data_key is None
