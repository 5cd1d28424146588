"""Generating data from a trained model: prior samples, interpolations and latent traversals.

Everything here goes through a model's public numpy methods (`encode`, `decode`, and for VAEs
`sample` and `encode_distribution`), so it works for every variant and for user models built
on `kerasae.Autoencoder`. The code-space helpers (`interpolate_codes`, `traverse_codes`) are
pure numpy and work on any vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasae._checks import check_choice, check_int, numbers
from kerasae.metrics import kl_per_dimension
from kerasae.protocols import (
    AutoencoderLike,
    Decodes,
    GenerativeLike,
    Posterior,
    Samples,
    describe,
    require_decoder,
)

METHODS = ("linear", "slerp")
DEFAULT_SPAN = 3.0  # +-3 prior standard deviations: the usual beta-VAE traversal range
DEFAULT_STEPS = 7
# Below this sin(angle) two codes count as parallel and slerp falls back to a straight line.
PARALLEL_TOLERANCE = 1e-6


# ----- prior samples ----------------------------------------------------------------------


def sample(model: Samples, n: int, seed: int | None = None, condition=None,
           sampler: str = "prior") -> np.ndarray:
    """n generated examples, (n, *data_shape); the same seed gives the same draws. "prior":
    z ~ p(z), only models with a prior (VAEs); "gmm": the mixture fitted on training codes
    (kerasae.samplers), any autoencoder that has one. A cvae needs `condition` labels. The
    model refuses what it cannot draw (a deterministic autoencoder has no prior)."""
    n = check_int(n, "n")
    if not isinstance(model, Samples):
        if not isinstance(model, Decodes):  # the masked autoencoder: nothing to decode codes
            raise ValueError(f"{describe(model)} has no sample(n, seed=...) method: no prior to "
                             "sample from and no decoder from codes to data.")
        raise ValueError(
            f"{describe(model)} has no sample(n, seed=...) method to draw from. For a model "
            "without one, decode codes you choose instead, e.g. with interpolate() or traverse()."
        )
    if sampler == "prior":  # user models with the older sample(n, seed, condition) keep working
        return model.sample(n, seed=seed, condition=condition)
    return model.sample(n, seed=seed, condition=condition, sampler=sampler)


# ----- interpolation ----------------------------------------------------------------------


def interpolate_codes(z_a, z_b, steps: int = 8, method: str = "linear") -> np.ndarray:
    """`steps` codes from z_a to z_b, shape (steps, latent_dim); the first is z_a and the last
    z_b exactly.

    "slerp" follows the great circle (White 2016), which keeps draws from a Gaussian prior at
    a typical norm where a straight line would pass through the improbable region near the
    origin; for (near-)parallel or zero codes it falls back to "linear".
    """
    method = check_choice(method, METHODS, "method")
    steps = check_int(steps, "steps", minimum=2)  # both endpoints
    dtype = _float_dtype(z_a, z_b)
    z_a, z_b = numbers(z_a, "z_a", ndim=1), numbers(z_b, "z_b", ndim=1)
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must have the same shape; got {z_a.shape} and {z_b.shape}.")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    weights = _slerp_weights(z_a, z_b, t) if method == "slerp" else None
    if weights is None:
        weights = (1.0 - t, t)
    codes = weights[0] * z_a + weights[1] * z_b
    codes[0], codes[-1] = z_a, z_b  # exact endpoints, whatever the rounding on the way
    return codes.astype(dtype)


def _slerp_weights(z_a: np.ndarray, z_b: np.ndarray, t: np.ndarray):
    """The weights of z_a and z_b along the great circle, or None when the angle between them
    is undefined (a zero code) or too close to 0 or pi to divide by its sine."""
    norms = np.linalg.norm(z_a) * np.linalg.norm(z_b)
    if norms == 0.0:
        return None
    angle = np.arccos(np.clip(np.dot(z_a, z_b) / norms, -1.0, 1.0))
    if np.sin(angle) < PARALLEL_TOLERANCE:
        return None
    return np.sin((1.0 - t) * angle) / np.sin(angle), np.sin(t * angle) / np.sin(angle)


def interpolate(model: GenerativeLike, a, b, steps: int = 8, method: str = "linear", condition=None
                ) -> np.ndarray:
    """Decode the path between the codes of two examples a and b (each one example, with or
    without a batch axis of 1): (steps, *data_shape), starting at decode(encode(a)) and ending
    at decode(encode(b)). For a cvae, `condition` is the one class label used throughout."""
    require_decoder(model, "its codes cannot be interpolated or traversed")
    labels = _one_label(condition)
    codes = [model.encode(_one_example(model, x, name), condition=labels)[0]
             for x, name in ((a, "a"), (b, "b"))]
    path = interpolate_codes(codes[0], codes[1], steps, method)
    return model.decode(path, condition=_repeat(condition, steps))


# ----- latent traversals ------------------------------------------------------------------


def traverse_codes(z, dims: Sequence[int] | np.ndarray, values) -> np.ndarray:
    """Copies of code z with dimension dims[i] set to values[j]: (len(dims), len(values), D).
    Every other dimension keeps z's value."""
    dtype = _float_dtype(z)
    z = numbers(z, "z", ndim=1)
    dims = _check_dims(dims, len(z))
    values = numbers(values, "values", ndim=1)
    codes = np.broadcast_to(z, (len(dims), len(values), len(z))).copy()
    for row, dim in enumerate(dims):
        codes[row, :, dim] = values
    return codes.astype(dtype)


def informative_dims(model: Posterior, x, condition=None) -> np.ndarray:
    """A VAE's latent dimensions, most informative first: sorted by their average KL from the
    prior over x (a dimension with no KL carries no information about x, so sweeping it
    changes little: the collapsed dimensions come last)."""
    if not isinstance(model, Posterior):
        raise ValueError(f"{describe(model)} has no posterior distribution (encode_distribution) "
                         "to rank latent dimensions by; only VAEs have one.")
    kl = kl_per_dimension(model, x, condition=condition)
    return np.argsort(-kl, kind="stable")


def traverse(model: GenerativeLike, x_or_z, dims: Sequence[int] | np.ndarray | None = None,
             values=DEFAULT_SPAN, condition=None, is_code: bool | None = None) -> np.ndarray:
    """Decode one code with one latent dimension swept at a time (the beta-VAE picture):
    (len(dims), len(values), *data_shape); row i varies dimension dims[i].

    `x_or_z` is one example (encoded first) or one code (latent_dim,); pass `is_code` when the
    two shapes coincide. `values` is a sequence of values to set, or a number s for 7 values
    from -s to s. Default `dims`: for a VAE given an example, every dimension ordered by its KL
    for that example (informative_dims); otherwise all dimensions in order. For a cvae,
    `condition` is the one class label used throughout.
    """
    require_decoder(model, "its codes cannot be interpolated or traversed")
    labels = _one_label(condition)
    values = _traversal_values(values)
    example, z = _example_or_code(model, x_or_z, is_code)
    if example is not None:
        z = model.encode(example, condition=labels)[0]
    if dims is None:
        dims = (informative_dims(model, example, condition=labels)
                if example is not None and isinstance(model, Posterior)
                else np.arange(model.latent_dim))
    codes = traverse_codes(z, dims, values)
    flat = codes.reshape(-1, codes.shape[-1])
    images = model.decode(flat, condition=_repeat(condition, len(flat)))
    return images.reshape(*codes.shape[:2], *images.shape[1:])


def _traversal_values(values) -> np.ndarray:
    if isinstance(values, (int, float, np.number)) and not isinstance(values, bool):
        if not np.isfinite(values) or values <= 0:
            raise ValueError(f"values given as a span must be a positive number; got {values!r}.")
        return np.linspace(-float(values), float(values), DEFAULT_STEPS)
    return numbers(values, "values", ndim=1)


def _example_or_code(model: AutoencoderLike, x_or_z, is_code: bool | None):
    """(example with a batch axis, None) or (None, code), decided by shape or by is_code."""
    array = numbers(x_or_z, "x_or_z", min_ndim=1)
    data_shape, code_shape = tuple(model.data_shape), (model.latent_dim,)
    fits_data = array.shape in (data_shape, (1, *data_shape))
    fits_code = array.shape in (code_shape, (1, *code_shape))
    if is_code is None and fits_data and fits_code:
        raise ValueError(f"x_or_z of shape {array.shape} could be an example or a code of "
                         "this model; pass is_code=True or is_code=False.")
    if is_code is None:
        is_code = fits_code
    if is_code and fits_code:
        return None, array.reshape(code_shape)
    if not is_code and fits_data:
        return array.reshape(1, *data_shape).astype("float32"), None
    if fits_data or fits_code:  # is_code was given and contradicts the shape
        expected = (f"a code of shape {code_shape}" if is_code
                    else f"one example of shape {data_shape}")
    else:
        expected = f"one example of shape {data_shape} or a code of shape {code_shape}"
    raise ValueError(f"x_or_z must be {expected} (a batch axis of 1 is allowed); "
                     f"got shape {array.shape}.")


# ----- shared checks ----------------------------------------------------------------------


def _one_example(model, x, name: str) -> np.ndarray:
    """One example with a batch axis of 1 (the model's own checks do the rest)."""
    array = np.asarray(x)
    shape = tuple(model.data_shape)
    if array.shape == shape:
        return array[None]
    if array.shape == (1, *shape):
        return array
    raise ValueError(f"{name} must be one example of shape {shape} (a batch axis of 1 is "
                     f"allowed); got shape {array.shape}.")


def _one_label(condition):
    """The one class label of a conditional path as a (1,) array, or None."""
    if condition is None:
        return None
    labels = np.asarray(condition)
    if labels.size != 1:
        raise ValueError("condition must be one class label for the whole path; got "
                         f"{labels.size} values of shape {labels.shape}.")
    return labels.reshape(1)


def _repeat(condition, n: int):
    return None if condition is None else np.repeat(np.asarray(condition).reshape(1), n)


def _float_dtype(*arrays) -> str:
    """float32, or float64 when an input is float64, so codes come back exactly as given."""
    kinds = (str(a.dtype) if hasattr(a, "dtype") else "" for a in arrays)
    return "float64" if any("float64" in kind for kind in kinds) else "float32"


def _check_dims(dims, latent_dim: int) -> list[int]:
    dims = np.asarray(dims)
    if dims.ndim != 1 or dims.size == 0 or not np.issubdtype(dims.dtype, np.integer):
        raise ValueError(f"dims must be a non-empty sequence of integer latent dimensions; "
                         f"got {dims.tolist()!r}.")
    if dims.min() < 0 or dims.max() >= latent_dim:
        raise ValueError(f"dims must lie in [0, {latent_dim}) for codes of {latent_dim} "
                         f"dimensions; got {dims.tolist()}.")
    return [int(d) for d in dims]

