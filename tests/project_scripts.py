"""Import one of the project's scripts/*.py as a module, for tests of its functions (the
scripts are not a package: they run as `python scripts/NAME.py`)."""

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> ModuleType:
    """A fresh module of scripts/NAME.py (each call executes it anew, so monkeypatching one
    copy leaves the others alone)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
