"""Print a pip constraints file that pins each declared requirement to its lower bound.

The minimum-versions job (scripts/test_min_versions.sh) installs from it, so the ranges in
pyproject.toml are tested at their bottom end, not only at today's releases
(constraints.txt). Every requirement it covers must have a lower bound (`>=`), or this fails.

    python scripts/lower_bounds.py [EXTRA ...]   # default: the runtime dependencies,
                                                 # the tensorflow-cpu extra, pytest, hypothesis
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXTRAS = ("tensorflow-cpu",)
# The test tools of the dev extra that the minimum-versions job also runs at their lower bound.
TEST_TOOLS = ("pytest", "hypothesis")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def lower_bound(requirement: str) -> tuple[str, str]:
    """(name, lowest allowed version) of a requirement such as "keras>=3.8,<4"."""
    match = _REQUIREMENT.match(requirement)
    if match is None:
        raise ValueError(f"expected a requirement like 'name>=1.0,<2', got {requirement!r}")
    name, specifiers = match.group(1), match.group(3)
    lows = [s.strip()[2:].strip() for s in specifiers.split(",") if s.strip().startswith(">=")]
    if len(lows) != 1:
        raise ValueError(
            f"expected exactly one '>=' lower bound in {requirement!r}, got {len(lows)}")
    return name, lows[0]


def requirements(project: dict, extras: tuple[str, ...]) -> list[str]:
    """The runtime dependencies, the named extras and the dev extra's test tools."""
    optional = project["optional-dependencies"]
    found = list(project["dependencies"])
    for extra in extras:
        if extra not in optional:
            raise ValueError(f"expected an extra of kerasae ({sorted(optional)}), got {extra!r}")
        found += [r for r in optional[extra] if not r.startswith("kerasae")]
    found += [r for r in optional["dev"] if _REQUIREMENT.match(r).group(1) in TEST_TOOLS]
    return found


def constraints(pyproject: Path = ROOT / "pyproject.toml",
                extras: tuple[str, ...] = DEFAULT_EXTRAS) -> str:
    """The constraints file's text: one `name==lower` line per requirement."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = [f"{name}=={low}" for name, low in map(lower_bound, requirements(project, extras))]
    header = "# From scripts/lower_bounds.py: the lowest versions pyproject.toml allows.\n"
    return header + "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(constraints(extras=tuple(sys.argv[1:]) or DEFAULT_EXTRAS))
