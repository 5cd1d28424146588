"""JSON as a round trip gives it back (the models' configs and the variant registry use it)."""

from __future__ import annotations

from typing import Any


def plain_json(value: Any) -> Any:
    """`value` as a JSON round trip gives it back: tuples become lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    return value
