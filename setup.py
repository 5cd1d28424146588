"""Only the slim build lives here; everything else is in pyproject.toml.

    KERASAE_SLIM=1 python -m pip wheel --no-deps -w dist .

builds a wheel without the bundled presets (kerasae/weights/): every preset is then downloaded
from the Hugging Face Hub on first use, at the revision kerasae/hub/zoo.json pins. Without the
variable the wheel bundles them, as before, and works offline.
"""

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SLIM = os.environ.get("KERASAE_SLIM", "").strip().lower() in {"1", "true", "yes"}


class BuildPy(build_py):
    """build_py that leaves out kerasae.weights when KERASAE_SLIM is set."""

    def finalize_options(self):
        super().finalize_options()
        if SLIM:
            self.packages = [p for p in self.packages if p != "kerasae.weights"]
            self.package_data = {k: v for k, v in self.package_data.items()
                                 if k != "kerasae.weights"}

    def run(self):
        if SLIM:  # a full build before this one left the presets in build/lib: not in this wheel
            shutil.rmtree(Path(self.build_lib) / "kerasae" / "weights", ignore_errors=True)
        super().run()


setup(cmdclass={"build_py": BuildPy})
