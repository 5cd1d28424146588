"""The contract every Keras object kerasae registers must keep, on every backend.

kerasae's layers, penalties and functions are found in Keras' registry of serialisable objects
(every kerasae module is imported first), so a newly registered object fails
`test_every_registered_object_has_a_contract_case` until it gets a case here. For each layer:
its config survives get_config/from_config, JSON and serialize_keras_object unchanged, and the
rebuilt layer (given the same weights) computes the same outputs; a tiny functional model
holding it reloads from a .keras file with the same outputs; and the outputs for fixed inputs
and weights equal reference numbers (computed in numpy, or on TensorFlow once and kept here),
so TensorFlow, JAX and torch agree to 1e-5.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import keras
import numpy as np
import pytest

import kerasae
from kerasae.builders.masked import gelu
from kerasae.conv import AdjointConv2DTranspose
from kerasae.layers import GaussianCorruption, MaskingCorruption, SaltAndPepperCorruption, Sampling
from kerasae.patches import (
    AllPatches,
    GatherPatches,
    Patchify,
    PositionEmbedding,
    RandomPatchMasking,
    ScatterPatches,
    Unpatchify,
)
from kerasae.penalties import Contractive, KLSparsity, L1Sparsity

TOLERANCE = 1e-5
PACKAGE = "kerasae"


def _registered() -> dict[str, object]:
    """Every object kerasae registers with Keras, by its registered name's last part."""
    for module in pkgutil.walk_packages(kerasae.__path__, f"{PACKAGE}."):
        importlib.import_module(module.name)
    prefix = f"{PACKAGE}>"
    return {name[len(prefix):]: obj for name, obj in keras.saving.get_custom_objects().items()
            if name.startswith(prefix)}


def _ramp(shape, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return np.linspace(low, high, math.prod(shape), dtype="float32").reshape(shape)


def _numpy(outputs):
    if isinstance(outputs, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in outputs]
    return [keras.ops.convert_to_numpy(outputs)]


def _assert_same(got: list, want: list, exact: bool) -> None:
    assert len(got) == len(want), f"expected {len(want)} outputs; got {len(got)}"
    for g, w in zip(got, want, strict=True):
        assert g.shape == np.shape(w), f"expected shape {np.shape(w)}; got {g.shape}"
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=TOLERANCE, atol=TOLERANCE)


# ----- layers -----------------------------------------------------------------------------------


@dataclass
class LayerCase:
    make: Callable[[], keras.layers.Layer]
    inputs: list[np.ndarray]
    # The outputs at inference for `inputs` (after `weights`, if any, are set).
    expected: Callable[[], list]
    # Values for the layer's weights, replacing a random initialisation.
    weights: Callable[[list], list] | None = None
    # Extra call arguments under which a rebuilt layer must give the same outputs (a seeded
    # layer's random training draws).
    random_modes: list[dict] = field(default_factory=list)
    # Inputs for those calls, where `inputs` would hide the noise.
    random_inputs: list[np.ndarray] | None = None


def _patterned(weights: list) -> list:
    """Fixed values for every weight: a sine pattern with values in [-0.5, 0.5]."""
    return [0.5 * np.sin(np.arange(w.size, dtype="float64") + 1.0 + k).reshape(w.shape)
            .astype("float32") for k, w in enumerate(weights)]


def _patchify(images: np.ndarray, p: int) -> np.ndarray:
    """Row-major patches, each flattened (row, column, channel): numpy's own reading."""
    n, h, w, c = images.shape
    return np.stack([images[:, r:r + p, s:s + p, :].reshape(n, -1)
                     for r in range(0, h, p) for s in range(0, w, p)], axis=1)


IMAGES = _ramp((2, 4, 4, 2))
PATCHES = _patchify(IMAGES, 2)  # (2, 4, 8)
TOKENS = _ramp((2, 4, 3))
KEEP = np.array([[2, 0], [1, 3]], dtype="int32")
MASK_TOKEN = _patterned([np.zeros(3)])[0]


def _scattered() -> np.ndarray:
    out = np.broadcast_to(MASK_TOKEN, (2, 4, 3)).copy()
    for b in range(2):
        out[b, KEEP[b]] = TOKENS[b, : KEEP.shape[1]]
    return out


# Computed once on TensorFlow (where AdjointConv2DTranspose is the stock Conv2DTranspose), for
# the input ramp and `_patterned` weights.
EXPECTED_CONV_TRANSPOSE = [
    0.0339132, 0.0, 0.2438435, 0.3030991, 0.83305, 0.9341109, 0.7204902, 0.6144694,
    0.2664006, 0.1115192, 0.5833472, 0.7444044, 0.3285149, 0.294828, 0.0296782, -0.0248134,
]
# RandomPatchMasking(0.5, seed=7) at inference on 4 patches, for every example.
EXPECTED_KEEP = [3, 0]
EXPECTED_MASK = [0.0, 1.0, 1.0, 0.0]


def _sincos_table(grid: tuple[int, int], dim: int) -> np.ndarray:
    """MAE's 2-D table: at patch (r, c), [sin(r w), cos(r w), sin(c w), cos(c w)] with
    frequencies w_k = 10000^(-k / (dim / 4)), k < dim / 4."""
    w = 10000.0 ** (-np.arange(dim // 4) / (dim // 4))
    return np.array([np.concatenate([np.sin(r * w), np.cos(r * w), np.sin(c * w), np.cos(c * w)])
                     for r in range(grid[0]) for c in range(grid[1])], "float32")


LAYER_CASES: dict[str, LayerCase] = {
    # Corruptions pass data through at inference; seeded training draws must survive a rebuild.
    "GaussianCorruption": LayerCase(
        lambda: GaussianCorruption(0.3, clip=(0.0, 1.0), seed=3), [_ramp((2, 5), 0.0, 1.0)],
        lambda: [_ramp((2, 5), 0.0, 1.0)], random_modes=[{"training": True}]),
    "MaskingCorruption": LayerCase(
        lambda: MaskingCorruption(0.5, seed=4), [_ramp((2, 5))], lambda: [_ramp((2, 5))],
        random_modes=[{"training": True}]),
    "SaltAndPepperCorruption": LayerCase(
        lambda: SaltAndPepperCorruption(0.5, low=-1.0, high=2.0, seed=5), [_ramp((2, 5))],
        lambda: [_ramp((2, 5))], random_modes=[{"training": True}]),
    # With log-variance -60 the noise (std e^-30) is far below the tolerance: z = mean.
    "Sampling": LayerCase(
        lambda: Sampling(seed=6), [_ramp((2, 3)), np.full((2, 3), -60.0, "float32")],
        lambda: [_ramp((2, 3))], random_modes=[{}],
        random_inputs=[_ramp((2, 3)), np.zeros((2, 3), "float32")]),
    "AdjointConv2DTranspose": LayerCase(
        lambda: AdjointConv2DTranspose(1, 3, strides=2, padding="same", name="up"),
        [_ramp((1, 2, 2, 1))],
        lambda: [np.array(EXPECTED_CONV_TRANSPOSE, "float32").reshape(1, 4, 4, 1)],
        weights=_patterned),
    "Patchify": LayerCase(lambda: Patchify(2), [IMAGES], lambda: [PATCHES]),
    "Unpatchify": LayerCase(lambda: Unpatchify(2, (4, 4, 2)), [PATCHES], lambda: [IMAGES]),
    # Inference keeps one fixed set of patches, the same on every backend and in every release
    # (a trained MAE preset's inference depends on it).
    "RandomPatchMasking": LayerCase(
        lambda: RandomPatchMasking(0.5, seed=7), [PATCHES],
        lambda: [np.array([EXPECTED_KEEP] * 2, "int32"),
                 np.array([EXPECTED_MASK] * 2, "float32")],
        random_modes=[{"training": True}]),
    "AllPatches": LayerCase(lambda: AllPatches(), [PATCHES],
                            lambda: [np.array([[0, 1, 2, 3]] * 2, "int32")]),
    "GatherPatches": LayerCase(
        lambda: GatherPatches(), [TOKENS, KEEP],
        lambda: [np.stack([TOKENS[b, KEEP[b]] for b in range(2)])]),
    "ScatterPatches": LayerCase(
        lambda: ScatterPatches(4), [TOKENS[:, :2], KEEP], lambda: [_scattered()],
        weights=lambda _: [MASK_TOKEN]),
    # The sine-cosine table is fixed (non-trainable): it is checked as initialised.
    "PositionEmbedding": LayerCase(
        lambda: PositionEmbedding((2, 3), "sincos"), [_ramp((2, 6, 8))],
        lambda: [_ramp((2, 6, 8)) + _sincos_table((2, 3), 8)]),
}


def _built(case: LayerCase) -> keras.layers.Layer:
    """The case's layer, called once on its inputs (which builds it), with its fixed weights."""
    layer = case.make()
    _call(layer, case.inputs)
    if case.weights is not None:
        layer.set_weights(case.weights(layer.get_weights()))
    return layer


def _one_or_list(inputs: list):
    """A single input as itself, several as a list (as the layers and models take them)."""
    return inputs[0] if len(inputs) == 1 else list(inputs)


def _call(layer, inputs: list, **kwargs):
    return layer(_one_or_list(inputs), **kwargs)


def _outputs(layer, case: LayerCase, inputs: list | None = None, **kwargs) -> list:
    return _numpy(_call(layer, case.inputs if inputs is None else inputs, **kwargs))


def _rebuilt_gives_same_outputs(case: LayerCase, rebuild: Callable) -> None:
    """A layer rebuilt by `rebuild(layer)` (e.g. from its config) computes exactly what the
    original does, with the original's weights, and draws the same seeded noise."""
    layer = _built(case)
    clone = rebuild(layer)
    assert type(clone) is type(layer)
    _call(clone, case.inputs)
    clone.set_weights(layer.get_weights())
    _assert_same(_outputs(clone, case), _outputs(layer, case), exact=True)
    for mode in case.random_modes:  # fresh layers: their seed generators are at the start
        fresh, inputs = case.make(), case.random_inputs
        _assert_same(_outputs(rebuild(fresh), case, inputs, **mode),
                     _outputs(fresh, case, inputs, **mode), exact=True)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_config_round_trip(name):
    """Catches: a constructor argument missing from get_config, or from_config not restoring
    it (the rebuilt layer's config or outputs differ)."""
    case = LAYER_CASES[name]
    config = case.make().get_config()
    assert type(case.make()).from_config(config).get_config() == config
    _rebuilt_gives_same_outputs(case, lambda layer: type(layer).from_config(layer.get_config()))


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_json_round_trip_is_exact(name):
    """Catches: config values JSON cannot hold (numpy scalars, objects) or that come back
    different (a float rounded, a tuple the layer cannot take back as a list)."""
    case = LAYER_CASES[name]
    config = case.make().get_config()
    text = json.dumps(config)
    restored = type(case.make()).from_config(json.loads(text))
    assert json.dumps(restored.get_config()) == text
    _rebuilt_gives_same_outputs(
        case, lambda layer: type(layer).from_config(json.loads(json.dumps(layer.get_config()))))


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_serialize_keras_object_round_trip(name):
    """Catches: a layer that Keras cannot find again by its registered name."""
    case = LAYER_CASES[name]
    serialized = keras.saving.serialize_keras_object(case.make())
    assert serialized["registered_name"] == f"{PACKAGE}>{name}"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert keras.saving.serialize_keras_object(restored) == serialized

    def rebuild(layer):
        text = json.dumps(keras.saving.serialize_keras_object(layer))
        return keras.saving.deserialize_keras_object(json.loads(text))

    _rebuilt_gives_same_outputs(case, rebuild)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_saved_in_a_model_reloads_with_the_same_outputs(name, tmp_path):
    """Catches: weights or state the .keras format does not restore, or a layer that cannot be
    loaded without being passed to load_model by hand."""
    case = LAYER_CASES[name]
    layer = _built(case)
    inputs = [keras.Input(x.shape[1:], dtype=str(x.dtype)) for x in case.inputs]
    model = keras.Model(_one_or_list(inputs), _call(layer, inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [type(lay).__name__ for lay in loaded.layers] == [type(lay).__name__ for lay in
                                                              model.layers]
    x = _one_or_list(case.inputs)
    _assert_same(_numpy(loaded(x)), _numpy(model(x)), exact=False)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_outputs_equal_the_reference(name):
    """Catches: a backend (or a change) computing other numbers for the same inputs and
    weights."""
    case = LAYER_CASES[name]
    _assert_same(_outputs(_built(case), case), case.expected(), exact=False)


# ----- penalties and functions ------------------------------------------------------------------


CODE = _ramp((3, 2), 0.1, 0.6)
ENCODER_KERNEL = _patterned([np.zeros((3, 2))])[0]
X = _ramp((2, 3))


def _kl_sparsity(rho: float, code: np.ndarray) -> float:
    rho_hat = code.astype("float64").mean(axis=0)
    return float(np.sum(rho * np.log(rho / rho_hat)
                        + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))


def _contractive(weight: float) -> float:
    """weight * mean ||J||_F^2 for the encoder tanh(x @ K): J = diag(1 - tanh^2) K^T."""
    slope = 1 - np.tanh(X.astype("float64") @ ENCODER_KERNEL) ** 2  # (batch, code)
    return weight * float(np.mean(np.sum(slope**2 * np.sum(ENCODER_KERNEL**2, axis=0), axis=1)))


def _tanh_encoder():
    encoder = keras.layers.Dense(2, activation="tanh", use_bias=False)
    encoder.build((None, 3))
    encoder.set_weights([ENCODER_KERNEL])
    return SimpleNamespace(encoder=encoder)


@dataclass
class PenaltyCase:
    penalty: Callable[[], object]
    value: Callable[[object], object]  # the penalty called on fixed inputs
    expected: float


PENALTY_CASES = {
    "KLSparsity": PenaltyCase(lambda: KLSparsity(rho=0.2, beta=0.5),
                              lambda p: p(None, None, {"code": CODE}),
                              0.5 * _kl_sparsity(0.2, CODE)),
    "L1Sparsity": PenaltyCase(lambda: L1Sparsity(lam=0.25), lambda p: p(None, None, {"code": CODE}),
                              0.25 * float(np.mean(np.sum(np.abs(CODE), axis=1)))),
    "Contractive": PenaltyCase(lambda: Contractive(weight=0.5),
                               lambda p: p(_tanh_encoder(), keras.ops.convert_to_tensor(X), {}),
                               _contractive(0.5)),
}


@pytest.mark.parametrize("name", sorted(PENALTY_CASES))
def test_penalty_round_trips_and_equals_the_reference(name):
    """Catches: a penalty option lost in a saved model's config, or a backend computing another
    value than the formula."""
    case = PENALTY_CASES[name]
    penalty = case.penalty()
    serialized = keras.saving.serialize_keras_object(penalty)
    assert serialized["registered_name"] == f"{PACKAGE}>{name}"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(restored) is type(penalty) and restored.get_config() == penalty.get_config()
    for candidate in (penalty, restored):
        value = float(keras.ops.convert_to_numpy(case.value(candidate)))
        assert value == pytest.approx(case.expected, rel=TOLERANCE, abs=TOLERANCE)


def test_gelu_round_trips_and_is_the_exact_gelu():
    """Catches: the registered activation not found again by name (a saved MAE would not load),
    or it drifting from x * Phi(x)."""
    serialized = keras.saving.serialize_keras_object(gelu)
    assert serialized["config"] == f"{PACKAGE}>gelu"
    assert keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized))) is gelu
    dense = keras.layers.Dense(2, activation=gelu)  # as the MAE's MLPs hold it
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(dense)))
    assert keras.saving.deserialize_keras_object(config).activation is gelu
    x = _ramp((7,), -3.0, 3.0)
    expected = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype("float64")]
    np.testing.assert_allclose(_numpy(gelu(keras.ops.convert_to_tensor(x)))[0], expected,
                               rtol=TOLERANCE, atol=TOLERANCE)


# ----- every registered object has a case ---------------------------------------------------------


# Models need their networks to be built; tests/test_serialization.py saves, reloads and
# compares every registered variant of each (and tests/test_masked_ae.py the MAE).
MODELS_TESTED_ELSEWHERE = {"Autoencoder", "VariationalAutoencoder", "ConditionalVAE",
                           "TotalCorrelationVAE", "ImportanceWeightedAutoencoder",
                           "MaskedAutoencoder"}
FUNCTIONS = {"gelu"}


def test_every_registered_object_has_a_contract_case():
    """Catches: a newly registered layer, penalty or function without a contract case."""
    registered = _registered()
    covered = {*LAYER_CASES, *PENALTY_CASES, *MODELS_TESTED_ELSEWHERE, *FUNCTIONS}
    missing = sorted(set(registered) - covered)
    assert not missing, (f"registered with keras.saving under {PACKAGE!r} but without a case in "
                         f"{__name__}: {missing}")
    stale = sorted(covered - set(registered))
    assert not stale, f"cases for objects kerasae no longer registers: {stale}"
    for name in LAYER_CASES:
        assert issubclass(registered[name], keras.layers.Layer)
        assert not issubclass(registered[name], keras.Model)
    for name in MODELS_TESTED_ELSEWHERE:
        assert issubclass(registered[name], keras.Model)
