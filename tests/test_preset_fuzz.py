"""Damaged presets, generated: any byte-level change to metadata.json, config.json or the
weights, or any JSON value put in a metadata field, gives a clear ValueError / IntegrityError
naming the preset, or a load that returns the saved weights; the failed load changes nothing
on disk. A tiny model is saved once per module; each example works on a copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kerasae
from kerasae.hub import save_preset
from kerasae.hub.preset import CONFIG, METADATA, WEIGHTS

FILES = (METADATA, CONFIG, WEIGHTS)
FIELDS = ("format_version", "kerasae_version", "files", "metrics", "dataset", "tags", "name",
          "variant", "input_spec", "options", "latent_dim", "lineage", "training", "unknown")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**20) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6,
)
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = kerasae.build("ae", input_shape=(8,), latent_dim=2)
    folder = save_preset(model, tmp_path_factory.mktemp("fuzz") / "preset",
                         metadata={"dataset": "synthetic", "tags": ["fuzz"]})
    return folder, [np.array(w) for w in model.get_weights()]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def load_and_check(saved, folder: Path) -> None:
    """The property: a clear error naming the preset, or the saved weights; disk unchanged."""
    before = snapshot(folder)
    try:
        model = kerasae.load(folder, compile=False)
    except ValueError as error:  # IntegrityError is a ValueError
        assert str(folder) in str(error), error
    else:
        for got, want in zip(model.get_weights(), saved[1], strict=True):
            np.testing.assert_array_equal(got, want)
    assert snapshot(folder) == before
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


@pytest.fixture
def work(saved, tmp_path_factory):
    def copy() -> Path:
        return Path(shutil.copytree(saved[0], tmp_path_factory.mktemp("case") / "preset"))

    return copy


@SETTINGS
@given(name=st.sampled_from(FILES), how=st.sampled_from(["flip", "truncate", "insert", "replace"]),
       where=st.floats(0, 1), data=st.binary(min_size=1, max_size=16), bit=st.integers(0, 7))
def test_byte_damage(saved, work, name, how, where, data, bit):
    folder = work()
    path = folder / name
    content = bytearray(path.read_bytes())
    at = min(int(where * len(content)), len(content) - 1)
    if how == "flip":
        content[at] ^= 1 << bit
    elif how == "truncate":
        del content[at:]
    elif how == "insert":
        content[at:at] = data
    else:
        content = bytearray(data)
    path.write_bytes(bytes(content))
    load_and_check(saved, folder)


@SETTINGS
@given(field=st.sampled_from(FIELDS), value=JSON, whole=st.booleans())
def test_metadata_values(saved, work, field, value, whole):
    folder = work()
    meta = json.loads((folder / METADATA).read_text())
    if whole and field == "unknown":
        meta = value  # the whole file: valid JSON, maybe not an object
    else:
        meta[field] = value
    (folder / METADATA).write_text(json.dumps(meta))
    load_and_check(saved, folder)
