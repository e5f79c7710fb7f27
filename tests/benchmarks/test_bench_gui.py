"""benchmarks/bench_gui.py: the line, junction and measurement timings run on the real
window (a few frames; the timings themselves are the page's, not asserted here)."""

import numpy as np
import pytest

pytest.importorskip("PySide6")


def test_the_pcl_section_runs_every_step_as_one_undo_step(load_script):
    script = load_script("bench_gui")
    out = script.bench_pcl(4, repeats=2)          # asserts the undo steps itself
    assert len(out["measure_ms"]) == 2 * 4 and len(out["measured_ms"]) == 4
    assert all(len(v) == 3 for v in (*out["alternated"], *out["handles"]))
    assert all(np.isfinite(v).all() for k, v in out.items() if k not in ("alternated", "handles"))
