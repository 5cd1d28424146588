"""The deterministic family: ae, linear_ae, deep_ae, conv_ae, lstm_ae, sparse_ae, contractive_ae
and denoising_ae. Each test says in its docstring which fault it would catch."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from variant_specs import SPECS, sequences, vectors

import kerasae
from kerasae.autodiff import batch_jacobian
from kerasae.layers import corruption
from kerasae.penalties import Contractive

DETERMINISTIC = [
    "ae", "linear_ae", "deep_ae", "conv_ae", "lstm_ae", "sparse_ae", "contractive_ae",
    "denoising_ae",
]
PENALTY_TERMS = {"sparse_ae": ["sparsity_loss"], "contractive_ae": ["contractive_loss"]}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """These models are tiny: on a busy 2-core machine torch's second OpenMP thread mostly
    spin-waits and makes LSTM and conv steps several times slower. Restored afterwards."""
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def to_numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor))


def build(name: str, **overrides) -> kerasae.Autoencoder:
    return kerasae.build(name, **{**SPECS[name]["kwargs"], **overrides})


def train(model, x, epochs: int, lr: float = 1e-2, batch_size: int = 32) -> dict:
    model.compile(optimizer=keras.optimizers.Adam(lr))
    return model.fit(x, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0).history


def finite_difference_jacobian(fn, x: np.ndarray, eps: float = 1e-2) -> np.ndarray:
    """Central differences of fn (numpy in, (N, out) numpy out), shape (N, out, *x.shape[1:]).

    All 2 * N * size perturbed inputs go through fn in one call; the step actually taken (after
    rounding to float32) is what each difference is divided by, accumulated in float64.
    """
    n, shape = len(x), x.shape[1:]
    flat = x.reshape(n, -1).astype(np.float64)
    size = flat.shape[1]
    steps = np.eye(size) * eps
    plus = (flat[:, None, :] + steps).astype(np.float32)
    minus = (flat[:, None, :] - steps).astype(np.float32)
    taken = np.diagonal(plus.astype(np.float64) - minus.astype(np.float64), axis1=1, axis2=2)
    both = np.concatenate([plus, minus]).reshape(2 * n * size, *shape)
    out = np.asarray(fn(both), dtype=np.float64).reshape(2, n, size, -1)
    jac = (out[0] - out[1]) / taken[..., None]  # (n, in, out)
    return jac.transpose(0, 2, 1).reshape(n, -1, *shape)


# ----- every variant trains and logs its objective ----------------------------------------------


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_variant_trains_and_logs_loss_as_sum_of_terms(name):
    """Catches: a variant that does not learn, a missing/misnamed penalty term in the logs, or a
    logged `loss` that is not reconstruction_loss + penalties (in fit, and in evaluate for the
    penalised variants)."""
    model = build(name)
    assert isinstance(model, kerasae.Autoencoder)
    assert model.variant == name
    x = SPECS[name]["data"](256, 0)
    history = train(model, x, epochs=20 if name == "lstm_ae" else 10)  # the LSTM learns slowest
    terms = ["reconstruction_loss", *PENALTY_TERMS.get(name, [])]
    assert set(history) == {"loss", *terms}
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["reconstruction_loss"][-1] < 0.7 * history["reconstruction_loss"][0]
    for epoch, loss in enumerate(history["loss"]):
        assert loss == pytest.approx(sum(history[t][epoch] for t in terms), rel=1e-4, abs=1e-7)
    if name in PENALTY_TERMS:  # evaluate logs the penalties too (compiling it costs on JAX)
        evaluated = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)
        assert set(evaluated) == {"loss", *terms}
        assert evaluated["loss"] == pytest.approx(sum(evaluated[t] for t in terms), rel=1e-4)


# ----- sparse_ae --------------------------------------------------------------------------------


def test_sparse_kl_drives_mean_activation_to_rho():
    """Catches: a KL sparsity penalty with the wrong sign, wrong rho, wrong mean axis or no
    gradient. beta=0 is the control: without the penalty the mean code is nowhere near rho."""
    x = vectors(512, 0)
    rho = 0.1
    sparse = build("sparse_ae", rho=rho, beta=1.0)
    train(sparse, x, epochs=20, batch_size=64)
    codes = sparse.encode(x)
    assert abs(codes.mean() - rho) < 0.02
    assert np.max(np.abs(codes.mean(axis=0) - rho)) < 0.02  # every unit, not just on average

    keras.utils.set_random_seed(0)
    free = build("sparse_ae", rho=rho, beta=0.0)
    train(free, x, epochs=20, batch_size=64)
    assert abs(free.encode(x).mean() - rho) > 0.1


def test_sparse_l1_shrinks_codes():
    """Catches: an L1 penalty that is not applied or not differentiated (codes as large as with
    lam=0), and a code layer that is not ReLU (codes must be >= 0 with many exact zeros)."""
    x = vectors(512, 0)
    l1_norms, zero_fractions = {}, {}
    for lam in (0.0, 1e-2):
        keras.utils.set_random_seed(0)
        model = kerasae.build("sparse_ae", input_shape=(16,), latent_dim=24, sparsity="l1",
                              lam=lam)
        train(model, x, epochs=20, batch_size=64)
        codes = model.encode(x)
        assert codes.min() >= 0.0
        l1_norms[lam] = np.abs(codes).sum(axis=1).mean()
        zero_fractions[lam] = np.mean(codes <= 1e-6)
    assert l1_norms[1e-2] < 0.5 * l1_norms[0.0]
    assert zero_fractions[1e-2] > zero_fractions[0.0]


# ----- contractive_ae and the Jacobian ------------------------------------------------------------


def test_contractive_penalty_matches_finite_difference_jacobian():
    """Catches: a wrong Jacobian (axes, batch mixing), a missing square or weight, or a penalty
    that is zero at evaluation (torch runs evaluate under no_grad)."""
    x = vectors(32, 0)
    weight = 0.5
    model = build("contractive_ae", contractive_weight=weight, hidden_units=(8,),
                  activation="tanh")
    jac = finite_difference_jacobian(model.encode, x)
    assert jac.shape == (32, 4, 16)
    expected = weight * np.mean(np.sum(jac**2, axis=(1, 2)))
    assert expected > 1e-3  # a meaningful value, not a trivially matched zero

    (penalty,) = model.penalties
    value = float(to_numpy(penalty(model, ops.convert_to_tensor(x), None)))
    assert value == pytest.approx(expected, rel=1e-3)

    model.compile(optimizer="adam")
    logged = model.evaluate(x, batch_size=8, verbose=0, return_dict=True)["contractive_loss"]
    assert logged == pytest.approx(expected, rel=1e-3)


def test_batch_jacobian_matches_finite_differences():
    """Catches: batch_jacobian returning the wrong layout (must be (batch, out, *in)), summing over
    the batch, or differing between backends; checked on a multi-axis input."""
    inputs = keras.Input((3, 2))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(5, activation="tanh")(h)
    outputs = keras.layers.Dense(4, activation="sigmoid")(h)
    net = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(6, 3, 2)).astype("float32")

    jac = to_numpy(batch_jacobian(lambda a: net(a), ops.convert_to_tensor(x)))
    expected = finite_difference_jacobian(lambda a: to_numpy(net(ops.convert_to_tensor(a))), x)
    assert jac.shape == (6, 4, 3, 2)
    assert np.abs(expected).max() > 0.05
    np.testing.assert_allclose(jac, expected, atol=2e-5)


def test_contractive_training_shrinks_encoder_jacobian():
    """Catches: a contractive term whose gradient does not reach the weights (e.g. a detached
    Jacobian): training with a large weight must flatten the encoder far more than weight 0."""
    x = vectors(256, 0)
    norms = {}
    for weight in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        model = build("contractive_ae", contractive_weight=weight)
        train(model, x, epochs=15)
        probe = Contractive(1.0)
        norms[weight] = float(to_numpy(probe(model, ops.convert_to_tensor(x), None)))
    assert norms[1.0] < 0.1 * norms[0.0]


# ----- denoising_ae and its corruptions --------------------------------------------------------


def _corrupt(layer, x, training=True) -> np.ndarray:
    return to_numpy(layer(ops.convert_to_tensor(x), training=training))


CONSTANT = np.full((400, 500), 0.5, dtype="float32")


def test_gaussian_corruption_has_requested_std_and_zero_mean():
    """Catches: noise with the wrong scale (e.g. variance instead of std) or a bias."""
    noise = _corrupt(corruption("gaussian", 0.3, seed=1), CONSTANT) - 0.5
    assert noise.std() == pytest.approx(0.3, abs=0.005)
    assert abs(noise.mean()) < 0.005


def test_gaussian_corruption_of_bce_data_stays_in_unit_interval():
    """Catches: denoising_ae with bce feeding its encoder noisy values outside [0, 1] (the clip
    must be on for bce models and applied after the noise)."""
    model = build("denoising_ae", noise="gaussian", noise_level=0.5, reconstruction_loss="bce")
    out = _corrupt(model.corruption, CONSTANT)
    assert out.min() == 0.0 and out.max() == 1.0
    assert np.mean((out > 0.0) & (out < 1.0)) > 0.6  # clipped, not saturated everywhere


def test_masking_corruption_zeroes_requested_fraction():
    """Catches: masking the complement (1 - level), rescaling kept values like Dropout, or
    setting masked values to something other than zero."""
    out = _corrupt(corruption("masking", 0.3, seed=1), CONSTANT)
    assert np.mean(out == 0.0) == pytest.approx(0.3, abs=0.01)
    assert np.all((out == 0.0) | (out == 0.5))


def test_salt_and_pepper_sets_half_low_half_high():
    """Catches: salt and pepper in the wrong proportions (each must be level / 2) or values
    changed that were not hit."""
    out = _corrupt(corruption("salt_and_pepper", 0.4, seed=1), CONSTANT)
    assert np.mean(out == 0.0) == pytest.approx(0.2, abs=0.01)
    assert np.mean(out == 1.0) == pytest.approx(0.2, abs=0.01)
    assert np.all((out == 0.0) | (out == 1.0) | (out == 0.5))


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_and_pepper"])
def test_corruption_is_identity_at_inference_and_fresh_in_training(noise):
    """Catches: noise applied at inference, noise frozen after the first call (an int seed baked
    into the op), or a seed that does not make the noise reproducible."""
    x = CONSTANT[:50]
    layer = corruption(noise, 0.3, seed=7)
    np.testing.assert_array_equal(_corrupt(layer, x, training=False), x)
    first, second = _corrupt(layer, x), _corrupt(layer, x)
    assert not np.array_equal(first, x)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(_corrupt(corruption(noise, 0.3, seed=7), x), first)


def test_denoising_ae_is_deterministic_at_inference_and_noisy_in_training():
    """Catches: a denoising model that corrupts its input in reconstruct/encode, or that never
    corrupts it in a training call."""
    model = build("denoising_ae", noise="gaussian", noise_level=0.5)
    x = vectors(20, 0)
    first, second = model.reconstruct(x), model.reconstruct(x)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(model.encode(x), model.encode(x))
    tensor = ops.convert_to_tensor(x)
    clean = to_numpy(model(tensor, training=False)["decoder_output"])
    np.testing.assert_allclose(clean, first, atol=1e-6)
    noisy_a = to_numpy(model(tensor, training=True)["decoder_output"])
    noisy_b = to_numpy(model(tensor, training=True)["decoder_output"])
    assert np.abs(noisy_a - clean).max() > 1e-3
    assert np.abs(noisy_a - noisy_b).max() > 1e-3


# ----- linear_ae is PCA --------------------------------------------------------------------------


def _principal_angles_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles between the column spaces of a and b, in degrees."""
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1.0, 1.0)
    return np.degrees(np.arccos(cosines))


def test_linear_ae_recovers_pca_subspace_and_error():
    """Catches: a nonlinearity or missing bias in linear_ae, or a broken reconstruction loss:
    at its optimum a linear AE spans the top principal subspace and matches PCA's error."""
    rng = np.random.default_rng(0)
    n, d, k = 2000, 20, 3
    loadings = np.linalg.qr(rng.normal(size=(d, k)))[0].T  # (k, d), orthonormal rows
    factors = rng.normal(size=(n, k)) * np.array([3.0, 2.0, 1.5])
    mean = 0.5 * rng.normal(size=d)
    x = (factors @ loadings + 0.3 * rng.normal(size=(n, d)) + mean).astype("float32")

    centred = x.astype(np.float64) - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    pca_mse = np.mean((centred - (u[:, :k] * s[:k]) @ vt[:k]) ** 2)

    model = kerasae.build("linear_ae", input_shape=(d,), latent_dim=k)
    schedule = keras.optimizers.schedules.ExponentialDecay(3e-2, decay_steps=300,
                                                           decay_rate=0.5)
    train(model, x, epochs=40, lr=schedule, batch_size=100)

    recon = model.reconstruct(x).astype(np.float64)
    recon_basis = np.linalg.svd(recon - recon.mean(axis=0), full_matrices=False)[2][:k]
    assert _principal_angles_deg(recon_basis.T, vt[:k].T).max() < 5.0
    ae_mse = float(np.mean(model.reconstruction_error(x)))
    assert ae_mse < 1.02 * pca_mse
    assert ae_mse > (1 - 1e-3) * pca_mse  # PCA is optimal: beating it means a wrong metric


# ----- lstm_ae and conv_ae ----------------------------------------------------------------------


def test_lstm_ae_reconstructs_held_out_sine_waves():
    """Catches: an LSTM decoder that ignores the code or scrambles time steps: held-out sines
    of unseen phase must come back with error far below the data variance."""
    model = kerasae.build("lstm_ae", input_shape=(12, 1), latent_dim=4, units=(32,))
    train(model, sequences(256, seed=0), epochs=15)
    held_out = sequences(128, seed=1)
    mse = float(np.mean(model.reconstruction_error(held_out)))
    assert mse < 0.1 * held_out.var()


def test_conv_ae_handles_odd_and_non_square_images():
    """Catches: conv_decoder cropping to the wrong size when height/width are not multiples of
    2 ** len(filters) (7 -> 4 -> 2 -> 8 needs an odd crop of 1, 10 -> 5 -> 3 -> 12 a crop of 2),
    or a lost channel axis."""
    shape = (7, 10, 2)
    model = kerasae.build("conv_ae", input_shape=shape, latent_dim=3, filters=(2, 4))
    assert model.data_shape == shape
    assert tuple(model.decoder.outputs[0].shape) == (None, *shape)
    x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    assert model.reconstruct(x).shape == (3, *shape)


# ----- the numpy methods -----------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 300])
def test_numpy_methods_return_right_shapes(n):
    """Catches: a dropped last partial batch (300 with batch_size=128), a squeezed single
    example, tensors instead of numpy arrays, or decode(encode(x)) != reconstruct(x)."""
    model = build("ae")
    x = vectors(n, 0)
    codes = model.encode(x, batch_size=128)
    decoded = model.decode(codes, batch_size=128)
    recon = model.reconstruct(x, batch_size=128)
    errors = model.reconstruction_error(x, batch_size=128)
    for array in (codes, decoded, recon, errors):
        assert isinstance(array, np.ndarray)
    assert codes.shape == (n, 4)
    assert decoded.shape == recon.shape == (n, 16)
    assert errors.shape == (n,)
    np.testing.assert_allclose(decoded, recon, atol=1e-5)
    np.testing.assert_allclose(model.encode(x, batch_size=5), codes, atol=1e-6)


def test_reconstruction_error_is_per_example_mse():
    """Catches: an error averaged over the batch, summed instead of averaged over elements, or
    computed on something other than reconstruct(x); and a training loss that differs from it."""
    model = build("ae")
    x = vectors(50, 0)
    expected = np.mean((x - model.reconstruct(x)) ** 2, axis=1)
    np.testing.assert_allclose(model.reconstruction_error(x), expected, rtol=1e-4, atol=1e-7)
    model.compile(optimizer="adam")
    logged = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    assert logged["reconstruction_loss"] == pytest.approx(expected.mean(), rel=1e-4)


def test_reconstruction_error_is_per_example_bce():
    """Catches: the "bce" option silently using squared error, a missing sigmoid output, or
    cross-entropy summed instead of averaged over the elements of each example."""
    model = kerasae.build("conv_ae", input_shape=(8, 8, 1), latent_dim=4, filters=(2,),
                          reconstruction_loss="bce")
    x = SPECS["conv_ae"]["data"](10, 0)
    p = model.reconstruct(x).astype(np.float64)
    assert p.min() > 0.0 and p.max() < 1.0
    p = np.clip(p, 1e-7, 1 - 1e-7)
    expected = -np.mean(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
    np.testing.assert_allclose(model.reconstruction_error(x), expected, rtol=1e-4)


def test_sparse_weight_decay_adds_half_lambda_sum_of_squared_kernels_and_its_gradient():
    """Catches weight decay that is missing from the loss on a backend, counts the biases,
    uses lambda instead of lambda / 2, or is lost on saving."""
    x = vectors(16, seed=3)
    plain = kerasae.build("sparse_ae", input_shape=(16,), latent_dim=4, rho=0.1, beta=0.5)
    decayed = kerasae.build("sparse_ae", input_shape=(16,), latent_dim=4, rho=0.1, beta=0.5,
                            weight_decay=0.3)
    decayed.set_weights(plain.get_weights())
    kernels = [to_numpy(lyr.kernel) for net in (decayed.encoder, decayed.decoder)
               for lyr in net.layers if getattr(lyr, "kernel", None) is not None]
    expected = 0.15 * sum(float(np.sum(k**2)) for k in kernels)
    loss = {}
    for name, model in (("plain", plain), ("decayed", decayed)):
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        loss[name] = model.evaluate(x, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(loss["decayed"] - loss["plain"], expected, rtol=1e-4)
    before = [to_numpy(w) for w in decayed.get_weights()]
    for model in (plain, decayed):
        model.fit(x, epochs=1, batch_size=len(x), shuffle=False, verbose=0)  # one step
    # One SGD step: the decayed kernels move an extra -lr * lambda * W; the biases do not.
    for w0, p, d in zip(before, plain.get_weights(), decayed.get_weights(), strict=True):
        extra = to_numpy(d) - to_numpy(p)
        np.testing.assert_allclose(extra, -0.1 * 0.3 * w0 if w0.ndim == 2 else 0 * w0,
                                   atol=1e-6)
    assert decayed.get_config()["options"]["weight_decay"] == 0.3
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(decayed))
    restored.set_weights(decayed.get_weights())
    np.testing.assert_allclose(float(sum(to_numpy(v) for v in restored.losses)),
                               0.15 * sum(float(np.sum(to_numpy(w) ** 2))
                                          for w in decayed.get_weights() if w.ndim == 2),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="weight_decay"):
        kerasae.build("sparse_ae", input_shape=(6,), latent_dim=4, weight_decay=-1.0)


def test_sparse_sigmoid_decoder_with_squared_error():
    """Catches output_activation being ignored (the notes' sigmoid decoder with MSE)."""
    model = kerasae.build("sparse_ae", input_shape=(6,), latent_dim=4,
                          output_activation="sigmoid")
    out = model.decode(np.full((2, 4), 50.0, "float32"))
    assert model.reconstruction_loss == "mse" and np.all((out > 0) & (out <= 1))
    with pytest.raises(ValueError, match="output_activation"):
        kerasae.build("sparse_ae", input_shape=(6,), latent_dim=4, output_activation="tanh")
