"""Variant name -> builder: `kerasae.build(name, ...)` and `kerasae.variants()`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras

from kerasae._checks import check_positive_int, check_shape, closest

_BUILDERS: dict[str, Callable[..., keras.Model]] = {}


def register_variant(name: str) -> Callable:
    """Register a builder `fn(input_shape, latent_dim, **options) -> keras.Model` as `name`."""

    def decorator(fn: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        if name in _BUILDERS:
            raise ValueError(f"variant {name!r} is already registered.")
        _BUILDERS[name] = fn
        return fn

    return decorator


def variants() -> list[str]:
    """Names accepted by `build`."""
    return sorted(_BUILDERS)


def variant_options(name: str) -> dict[str, Any]:
    """The options a variant accepts, with their defaults."""
    params = inspect.signature(_builder(name)).parameters
    return {k: p.default for k, p in params.items() if k not in ("input_shape", "latent_dim")}


def build(name: str, input_shape: Any = None, latent_dim: Any = None, **options) -> keras.Model:
    """Build an uncompiled autoencoder variant; its objective is its own (compile without loss).

    Raises ValueError for an unknown variant or option, or a shape or size that cannot work.
    """
    accepted = variant_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        hints = "".join(closest(u, accepted) for u in unknown)
        raise ValueError(
            f"unknown option(s) {unknown} for variant {name!r}; it accepts "
            f"{sorted(accepted)}.{hints}"
        )
    if input_shape is None:
        raise ValueError(f"build({name!r}) needs input_shape, e.g. input_shape=(28, 28, 1).")
    if latent_dim is None:
        raise ValueError(f"build({name!r}) needs latent_dim, a positive integer.")
    input_shape = check_shape(input_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    model = _builder(name)(input_shape=input_shape, latent_dim=latent_dim, **options)
    model.variant = name
    model.options = {
        "input_shape": list(input_shape),
        "latent_dim": latent_dim,
        **{k: _jsonable(v) for k, v in {**accepted, **options}.items()},
    }
    return model


def _builder(name: str) -> Callable[..., keras.Model]:
    if name not in _BUILDERS:
        raise ValueError(
            f"unknown variant {name!r}; expected one of {variants()}."
            f"{closest(str(name), _BUILDERS)}"
        )
    return _BUILDERS[name]


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
