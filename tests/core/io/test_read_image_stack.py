"""Reading multi-page TIFF files and folders of PNG/TIFF frames."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from core.errors import ReaderError
from core.io import read_series
from core.io.image_stack import natural_key


def test_multipage_tiff_with_default_spacing_and_interval(tmp_path):
    frames = np.random.default_rng(0).integers(0, 4000, (4, 9, 7)).astype(np.uint16)
    path = tmp_path / "cine.tif"
    tifffile.imwrite(path, frames, photometric="minisblack")
    s = read_series(path)
    np.testing.assert_array_equal(s.frames, frames)
    assert s.spacing_mm == (1.0, 1.0)
    np.testing.assert_allclose(s.times_s, [0, 1, 2, 3])
    assert any("1 mm assumed" in w for w in s.warnings)
    assert any("1 s assumed" in w for w in s.warnings)
    s2 = read_series(path, spacing_mm=(0.5, 0.75), frame_interval_s=1.5)
    assert s2.spacing_mm == (0.5, 0.75) and s2.warnings == []
    np.testing.assert_allclose(s2.times_s, [0, 1.5, 3.0, 4.5])


def test_png_folder_sorted_naturally(tmp_path):
    for i in range(12):
        Image.fromarray(np.full((5, 6), i * 10, np.uint8)).save(tmp_path / f"frame{i}.png")
    s = read_series(tmp_path)
    np.testing.assert_array_equal(s.frames[:, 0, 0], np.arange(12) * 10)
    assert natural_key("frame2.png") < natural_key("frame10.png")


def test_rgb_frames_become_grey(tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    for i, c in enumerate(colours):
        Image.fromarray(np.full((4, 4, 3), c, np.uint8)).save(tmp_path / f"f{i}.png")
    s = read_series(tmp_path)
    np.testing.assert_allclose(s.frames[:, 0, 0], [0.299 * 255, 0.587 * 255, 0.114 * 255],
                               rtol=1e-6)


def test_frames_of_different_sizes_name_the_file(tmp_path):
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(tmp_path / "f1.png")
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(tmp_path / "f2.png")
    Image.fromarray(np.zeros((7, 6), np.uint8)).save(tmp_path / "f3.png")
    with pytest.raises(ReaderError, match="frame size 7x6 differs") as err:
        read_series(tmp_path)
    assert err.value.path == str(tmp_path / "f3.png")


def test_single_page_tiff_and_damaged_png(tmp_path):
    one = tmp_path / "one.tif"
    tifffile.imwrite(one, np.zeros((5, 5), np.uint16))
    with pytest.raises(ReaderError, match="a single image"):
        read_series(one)
    folder = tmp_path / "pngs"
    folder.mkdir()
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(folder / "a1.png")
    (folder / "a2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(ReaderError, match="not a readable image") as err:
        read_series(folder)
    assert err.value.path == str(folder / "a2.png")
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((3, 3, 4, 5), np.uint8), photometric="rgb",
                     planarconfig="separate")  # 3 pages of planar RGB (3, 4, 5)
    assert read_series(rgb).frames.shape == (3, 4, 5)
    bad_tif = tmp_path / "bad.tif"
    bad_tif.write_bytes(b"II*\x00" + bytes(50))
    with pytest.raises(ReaderError):
        read_series(bad_tif)
