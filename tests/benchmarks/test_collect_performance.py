"""benchmarks/collect_performance.py: docs/performance.md is the section files' copy."""

import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("collect_performance")


def test_headings_go_one_level_deeper_outside_code(script):
    text = "## A\n\ntext # not a heading\n```\n# shell comment\n```\n### B"
    assert script.demote(text) == (
        "### A\n\ntext # not a heading\n```\n# shell comment\n```\n#### B")


def test_collect_keeps_the_head_and_replaces_stale_copies(script, tmp_path):
    for name in script.SECTIONS:
        (tmp_path / name).write_text(f"## {name}\n\nnew numbers of {name}\n")
    page = ("# Performance\n\nhand-written summary\n\n"
            "<!-- from docs/performance_inference.md -->\n### old\n\nstale numbers\n")
    out = script.collect(page, tmp_path)
    assert out.startswith("# Performance\n\nhand-written summary\n\n<!-- from docs/")
    assert "stale numbers" not in out
    for name in script.SECTIONS:
        assert f"<!-- from docs/{name} -->\n### {name}\n\nnew numbers of {name}\n" in out
    assert script.collect(out, tmp_path) == out  # a second run changes nothing


def test_missing_section_file_is_an_error(script, tmp_path):
    with pytest.raises(FileNotFoundError):
        script.collect("# Performance\n", tmp_path)


def test_the_repository_page_is_up_to_date(script, capsys):
    """The shipped docs/performance.md matches the section files the benchmarks wrote."""
    assert script.main(["--check"]) == 0, capsys.readouterr().err
