"""benchmarks/device_train.sh (the GPU fine-tune command) run small on the CPU, and its
defaults checked against the recorded recipe of candidate 128."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "device_train.sh"


def _run(tmp_path, **env):
    full = dict(os.environ, OUTDIR=str(tmp_path / "model"), WORK=str(tmp_path / "work"),
                PY=sys.executable, DEVICE="cpu", JOBS="1", WORKERS="0", CASES="1", CHUNK="1",
                **env)
    return subprocess.run(["bash", str(SCRIPT)], env=full, capture_output=True, text=True,
                          timeout=600)


def test_renders_then_fine_tunes_the_shipped_model(tmp_path):
    res = _run(tmp_path, GENERATORS="coil landmark@2030", SEED="5", DEADLINE_S="900",
               PHANTOM_SEEDS="0-0", FRAMES="3",
               EXTRA="--epochs 1 --steps-per-epoch 1 --batch-size 2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "coil: 1 cases" in res.stdout and "landmark@2030: 1 cases" in res.stdout
    gen = tmp_path / "work" / "gen"
    assert (gen / "coil" / "coil_1000" / "truth.npy").is_file()
    assert (gen / "landmark_2030" / "landmark_2030").is_dir()  # a second folder, seeds 2030+
    cfg = json.loads((tmp_path / "model" / "default.json").read_text())
    train = cfg["training"]
    assert train["epochs_done"] == 1 and train["seed"] == 5
    assert train["n_sources"] == 2 and train["device"] == "cpu"
    assert train["train_phantom_seeds"] == [0, 0]  # one range: seeds 0 to 0
    assert train["sources_note"].count("3 frames each") == 2
    assert train["init_model_id"]  # fine-tuned from the shipped model
    assert (tmp_path / "model" / "default.safetensors").stat().st_size > 1_000_000


def test_a_generator_that_renders_nothing_stops_before_training(tmp_path):
    res = _run(tmp_path, GENERATORS="nosuch")
    assert res.returncode == 3
    assert "error: nosuch rendered 0 of 1 cases" in res.stdout
    assert "training on" not in res.stdout
    assert not (tmp_path / "model" / "default.json").exists()


def _recorded_folders(note: str) -> list[tuple[str, int, int, int]]:
    """(generator, first seed, last seed, frames) of each folder in a model's sources note."""
    return [(g, int(a), int(b), int(f)) for g, a, b, f in
            re.findall(r"\((\w+?)_(\d+)\.\.\w+?_(\d+)\), (\d+) frames each", note)]


def test_defaults_reproduce_the_training_data_of_candidate_128(tmp_path):
    res = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, OUTDIR=str(tmp_path / "m"), LIST_ONLY="1",
                                  WORK=str(tmp_path / "w")))
    assert res.returncode == 0, res.stderr
    *jobs, summary = res.stdout.strip().splitlines()
    listed: dict[tuple[str, str], list[int]] = {}
    for line in jobs:
        folder, gen, first, last = line.split()
        listed.setdefault((folder, gen), []).extend(range(int(first), int(last) + 1))
    train = json.loads((ROOT / "benchmarks" / "models" / "candidate128.json").read_text())[
        "training"]
    recorded = _recorded_folders(train["sources_note"])
    assert len(recorded) == 43 == len(listed)
    assert sorted((g, seeds[0], seeds[-1], len(seeds)) for (_, g), seeds in listed.items()) == \
        sorted((g, a, b, b - a + 1) for g, a, b, _ in recorded)
    assert {f for *_, f in recorded} == {7}
    assert summary == "phantom seeds 0-499,503-641, 7 frames per rendered case"
    assert train["train_phantom_seeds"] == [[0, 499], [503, 641]]
    assert not (tmp_path / "w" / "gen").exists() or not any((tmp_path / "w" / "gen").iterdir())
