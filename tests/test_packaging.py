"""The wheel carries every subpackage, the bundled MNIST sample and the bundled presets."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from project_scripts import load_script

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


# ----- dependency ranges, the constraints file and the minimum-versions job -----------------

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
lower_bounds = load_script("lower_bounds")


def _own_requirements() -> list[str]:
    """Every requirement in pyproject.toml except kerasae's own extras."""
    found = list(PROJECT["dependencies"])
    for name, extra in PROJECT["optional-dependencies"].items():
        found += [r for r in extra if not r.startswith("kerasae") and r not in ("wheel",)
                  and not (name == "dev" and r.startswith("setuptools"))]
    return found


def test_every_requirement_is_a_range_with_both_bounds():
    """Fails if a library requirement pins one version (==) or lacks a lower or an upper bound."""
    for text in _own_requirements():
        operators = sorted(spec.operator for spec in Requirement(text).specifier)
        assert operators == ["<", ">="], f"expected '>=low,<high', got {text!r}"
        assert lower_bounds.lower_bound(text)[0] == Requirement(text).name


def test_tensorflow_extra_is_the_gpu_capable_package_and_cpu_stays_a_choice():
    extras = PROJECT["optional-dependencies"]
    names = {e: [lower_bounds.lower_bound(r)[0] for r in extras[e] if not r.startswith("kerasae")]
             for e in ("tensorflow", "tensorflow-cpu", "torch", "jax")}
    assert names == {"tensorflow": ["tensorflow"], "tensorflow-cpu": ["tensorflow-cpu"],
                     "torch": ["torch"], "jax": ["jax", "keras"]}
    # The dev install (CI, the README's commands) takes the small CPU build, never both builds.
    assert "tensorflow-cpu" in extras["dev"][0] and "tensorflow," not in extras["dev"][0]
    for extra in ("tfds", "tensorboard"):
        assert extra in extras["dev"][0]


def test_lower_bounds_make_a_constraints_file(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["keras>=3.8,<4", "numpy >= 1.26, <3"]\n'
        '[project.optional-dependencies]\ntensorflow-cpu = ["tensorflow-cpu>=2.18,<3"]\n'
        'dev = ["kerasae[tensorflow-cpu]", "pytest>=8,<10", "ruff>=0.17,<0.18"]\n')
    text = lower_bounds.constraints(pyproject)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ["keras==3.8", "numpy==1.26", "tensorflow-cpu==2.18", "pytest==8"]


@pytest.mark.parametrize("requirement", ["keras", "keras<4", "keras>=3,>=3.8", "keras==3.8"])
def test_requirement_without_one_lower_bound_is_refused(requirement):
    with pytest.raises(ValueError, match="lower bound"):
        lower_bounds.lower_bound(requirement)


def test_unknown_extra_is_refused():
    with pytest.raises(ValueError, match="expected an extra"):
        lower_bounds.constraints(extras=("tensorflow-gpu",))


def test_constraints_file_pins_every_requirement_inside_its_range():
    """Fails if constraints.txt lacks a package that pyproject.toml requires, pins kerasae
    itself, or pins a version outside the declared range (the ranges and the lock drifted)."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    assert "kerasae" not in pins
    for text in _own_requirements():
        requirement = Requirement(text)
        if requirement.name == "tensorflow":  # constraints.txt holds the CPU build of it
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt has no pin for {requirement.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {requirement.name}=={pins[name]}, outside {text}")


def test_scripts_install_from_the_constraints_file():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "-c constraints.txt" in setup and '-e ".[dev]"' in setup
    assert "test_min_versions.sh" in (ROOT / ".ci" / "run").read_text()
    assert "lower_bounds.py" in (ROOT / "scripts" / "test_min_versions.sh").read_text()
