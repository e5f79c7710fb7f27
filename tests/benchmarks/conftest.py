"""Scripts under benchmarks/ are not a package: tests load them by path."""

import copy
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_script():
    """``load_script(name)``: the module of ``benchmarks/<name>.py``."""
    return _load


@pytest.fixture(scope="session")
def generate_one(tmp_path_factory):
    """``generate_one(script, prefix, seed)``: run a generator's command line for one seed
    into a fresh folder (it must exit 0) and return the case folder ``<prefix>_<seed:03d>``."""

    def run(script, prefix: str, seed: int) -> Path:
        out = tmp_path_factory.mktemp(prefix)
        assert script.main(["--seeds", str(seed), "--out", str(out)]) == 0
        return out / f"{prefix}_{seed:03d}"

    return run


def _shrink(params: dict, rows: int = 128, frames: int = 8) -> dict:
    """A generator's case parameters at ``rows`` rows and ``frames`` frames, the same field
    of view (``matrix``, ``spacing_mm`` and ``n_frames`` changed in a copy)."""
    p = copy.deepcopy(params)
    h, w = p["matrix"]
    dr, dc = p["spacing_mm"]
    cols = max(8, round(rows * w / h))
    p["matrix"] = [rows, cols]
    p["spacing_mm"] = [dr * h / rows, dc * w / cols]
    p["n_frames"] = frames
    return p


@pytest.fixture(scope="session")
def shrink():
    """``shrink(params, rows=128, frames=8)``: small renders of a generator's case for the
    tests of the generators that take ``matrix`` / ``spacing_mm`` / ``n_frames``."""
    return _shrink


def _piece_sizes(mask: np.ndarray) -> np.ndarray:
    """Pixel counts of the 8-connected pieces of ``mask`` (empty when it has none)."""
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return np.bincount(lab.ravel())[1:] if n else np.zeros(0, int)


@pytest.fixture(scope="session")
def piece_sizes():
    """``piece_sizes(mask)``: the pixel counts of a mask's 8-connected pieces, for the
    generators' "each organ one piece" tests."""
    return _piece_sizes
