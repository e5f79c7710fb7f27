"""benchmarks/device_train.sh (rule 91's GPU command) run small on the CPU."""

import json
import os
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
    res = _run(tmp_path, GENERATORS="coil", SEED="5", DEADLINE_S="900",
               EXTRA="--epochs 1 --steps-per-epoch 1 --seeds 0-0 --batch-size 2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "coil: 1 cases" in res.stdout
    assert (tmp_path / "work" / "gen" / "coil" / "coil_1000" / "truth.npy").is_file()
    cfg = json.loads((tmp_path / "model" / "default.json").read_text())
    train = cfg["training"]
    assert train["epochs_done"] == 1 and train["seed"] == 5
    assert train["n_sources"] == 1 and train["device"] == "cpu"
    assert train["init_model_id"]  # fine-tuned from the shipped model
    assert (tmp_path / "model" / "default.safetensors").stat().st_size > 1_000_000


def test_a_generator_that_renders_nothing_stops_before_training(tmp_path):
    res = _run(tmp_path, GENERATORS="nosuch")
    assert res.returncode == 3
    assert "error: nosuch rendered 0 of 1 cases" in res.stdout
    assert "training on" not in res.stdout
    assert not (tmp_path / "model" / "default.json").exists()
