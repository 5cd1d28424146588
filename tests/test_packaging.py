"""The wheel carries every subpackage, the bundled MNIST sample and the bundled presets."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

import kerasae
from kerasae.hub import registry

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "kerasae").rglob("__init__.py")
    }
    assert found | {"kerasae.weights"} == listed


def test_wheel_ships_sample_data_and_every_bundled_preset(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("kerasae-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "kerasae/assets/mnist_sample.npz" in names
    for preset in kerasae.list_models():
        for file in ("config.json", "model.weights.h5", "metadata.json", "README.md"):
            assert f"kerasae/weights/{preset}/{file}" in names


def test_bundled_root_prefers_the_installed_copy(tmp_path, monkeypatch):
    package = tmp_path / "site" / "kerasae"
    (package / "hub").mkdir(parents=True)
    (package / "weights").mkdir()
    monkeypatch.setattr(registry, "__file__", str(package / "hub" / "registry.py"))
    assert registry.bundled_root() == package / "weights"
