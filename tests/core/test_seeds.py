"""core.seeds.parse_seeds: the seed lists of the CLI and the generators."""

import pytest

from core.seeds import parse_seeds


def test_ranges_lists_and_spaces():
    assert parse_seeds("1000-1003") == [1000, 1001, 1002, 1003]
    assert parse_seeds("1,5, 7-8") == [1, 5, 7, 8]
    assert parse_seeds("1, 4-5,") == [1, 4, 5]
    assert parse_seeds("7") == [7]


@pytest.mark.parametrize("text", ["9-3", "", " , ", "a", "1-b"])
def test_bad_text_raises(text):
    with pytest.raises(ValueError):
        parse_seeds(text)


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, core.seeds; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
