"""Bundled resources are found in the checkout, or where $PELVITRACK_RESOURCES points."""

from pathlib import Path

import pytest

from core.resources import resource_candidates, resources_dir
from core.segment.model_io import default_model_path

REPO_RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def test_checkout_resources_hold_model_and_demo():
    assert resources_dir() == REPO_RESOURCES
    assert default_model_path() == REPO_RESOURCES / "models" / "default"
    assert (REPO_RESOURCES / "models" / "default.json").is_file()
    assert any((REPO_RESOURCES / "demo").iterdir())


def test_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("PELVITRACK_RESOURCES", str(tmp_path))
    assert resources_dir() == tmp_path
    assert default_model_path() == tmp_path / "models" / "default"


def test_nothing_found_names_the_places(tmp_path, monkeypatch):
    monkeypatch.setattr("core.resources.resource_candidates",
                        lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(FileNotFoundError, match="PELVITRACK_RESOURCES"):
        resources_dir()
    assert len(resource_candidates()) >= 2
