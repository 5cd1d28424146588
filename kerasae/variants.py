"""The variant registry: name -> family builder + default options. `kerasae.build(name, ...)`,
`kerasae.variants()` and `kerasae.variant_options(name)`.

A variant is not a hand-written builder signature but registered defaults over a family (the
deterministic autoencoder, the VAE, the TC-VAE, the MAE). What `build` resolves (the variant
and every option that applies, defaults filled in, as JSON) is the model's whole config: it is
what `get_config` returns and what `from_config` rebuilds through the same builder, so a fix to
a builder reaches every saved model and preset.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import keras

from kerasae._checks import check_int, check_shape, closest
from kerasae._json import plain_json


@dataclass(frozen=True)
class Variant:
    """A registered variant: `make(input_shape, latent_dim, network=..., **objective)` builds
    it. `options`: what the caller may set, with defaults; `fixed`: what the variant pins.
    `networked`: the family takes a dense/conv/lstm network spec (built from the network
    fields of the options); `settle(objective)`: the objective options as they are stored
    (defaults that depend on other options resolved, options that do not apply dropped)."""

    name: str
    make: Callable[..., keras.Model]
    options: Mapping[str, Any]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    networked: bool = True
    settle: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def resolve(self, input_shape: tuple[int, ...], options: dict[str, Any]):
        """(network spec or None, objective options for `make`, the options to store)."""
        from kerasae.builders.common import NETWORK_DEFAULTS, network_spec

        merged = {**self.options, **options, **self.fixed}
        if not self.networked:
            return None, merged, plain_json({k: merged[k] for k in self.options})
        network = network_spec(merged, set(options), input_shape)
        objective = {k: v for k, v in merged.items() if k not in NETWORK_DEFAULTS}
        stored_objective = self.settle(objective) if self.settle else objective
        stored = {k: getattr(network, k) for k in network.fields() if k in self.options}
        if "architecture" in self.options:
            stored["architecture"] = network.architecture
        stored.update({k: v for k, v in stored_objective.items() if k in self.options})
        return network, objective, plain_json(stored)


_VARIANTS: dict[str, Variant] = {}


def register(variant: Variant) -> Variant:
    """Add `variant` to the registry (its name must be new)."""
    if variant.name in _VARIANTS:
        raise ValueError(f"variant {variant.name!r} is already registered.")
    _VARIANTS[variant.name] = variant
    return variant


def register_variant(name: str) -> Callable:
    """Register a plain builder `fn(input_shape, latent_dim, **options) -> keras.Model` as
    `name` (for your own variants); its keyword defaults are the variant's options."""

    def decorator(fn: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        params = inspect.signature(fn).parameters
        defaults = {k: p.default for k, p in params.items()
                    if k not in ("input_shape", "latent_dim")}

        def make(input_shape, latent_dim, network=None, **objective):
            return fn(input_shape=input_shape, latent_dim=latent_dim, **objective)

        register(Variant(name, make, defaults, networked=False))
        return fn

    return decorator


def variants() -> list[str]:
    """Names accepted by `build`."""
    return sorted(_VARIANTS)


def variant_options(name: str) -> dict[str, Any]:
    """The options a variant accepts, with their defaults."""
    return copy.deepcopy(dict(_variant(name).options))


def build(name: str, input_shape: Any = None, latent_dim: Any = None, **options) -> keras.Model:
    """Build an uncompiled autoencoder variant; its objective is its own (compile without loss).

    Raises ValueError for an unknown variant or option, an option that does not apply to the
    chosen architecture, or a shape or size that cannot work.
    """
    variant = _variant(name)
    unknown = sorted(set(options) - set(variant.options))
    if unknown:
        hints = "".join(closest(u, variant.options) for u in unknown)
        raise ValueError(
            f"unknown option(s) {unknown} for variant {name!r}; it accepts "
            f"{sorted(variant.options)}.{hints}"
        )
    if input_shape is None:
        raise ValueError(f"build({name!r}) needs input_shape, e.g. input_shape=(28, 28, 1).")
    if latent_dim is None:
        raise ValueError(f"build({name!r}) needs latent_dim, a positive integer.")
    input_shape = check_shape(input_shape)
    latent_dim = check_int(latent_dim, "latent_dim")
    network, objective, stored = variant.resolve(input_shape, options)
    if network is None:
        model = variant.make(input_shape, latent_dim, **objective)
    else:
        model = variant.make(input_shape, latent_dim, network=network, **objective)
    model.set_variant_config(name, {"input_shape": list(input_shape), "latent_dim": latent_dim,
                                    **stored})
    return model


def rebuild(name: str, options: dict[str, Any]) -> keras.Model:
    """The model of a saved config (`variant` + `options`) through today's builder."""
    return build(name, **options)


def legacy_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Options as the first preset format stored them (every option the variant accepted,
    whether or not it applied, e.g. filters for a dense network), as `build` stores them now:
    those that do not apply are dropped (the old builders ignored them), the rest resolved."""
    variant = _variant(name)
    options = plain_json(dict(options))
    if variant.networked:
        from kerasae.builders.common import NETWORK_DEFAULTS, NETWORKS, default_architecture

        architecture = (variant.fixed.get("architecture") or options.get("architecture")
                        or default_architecture(tuple(options["input_shape"])))
        fields = NETWORKS[architecture].fields() if architecture in NETWORKS else ()
        options = {k: v for k, v in options.items()
                   if k not in NETWORK_DEFAULTS or k == "architecture" or k in fields}
    shape, latent_dim = options.pop("input_shape"), options.pop("latent_dim")
    _, _, stored = variant.resolve(check_shape(shape), options)
    return {"input_shape": list(shape), "latent_dim": latent_dim, **stored}


def upgrade(model: keras.Model) -> keras.Model:
    """A model loaded from the first preset format (whole graph), rebuilt by today's builder
    with its weights copied over; any other model is returned as it is. The weights must
    match one for one (same shapes in the same order), or ValueError."""
    if not getattr(model, "serialises_graph", False) or model.variant is None:
        return model
    new = rebuild(model.variant, model.options)
    old_weights, new_weights = model.get_weights(), new.get_weights()
    shapes = [w.shape for w in old_weights], [w.shape for w in new_weights]
    if shapes[0] != shapes[1]:
        raise ValueError(
            f"the {model.variant} builder makes weights of shapes {shapes[1]}; the saved model "
            f"has {shapes[0]}. It cannot be moved to the current builder."
        )
    new.set_weights(old_weights)
    new.name, new.trainable = model.name, model.trainable
    return new


def builder(name: str) -> Callable[..., keras.Model]:
    """The builder function of variant `name`: `fn(input_shape, latent_dim, **options)`, the
    same as `build(name, ...)`; the builder modules export one per variant, named after it."""

    def fn(input_shape: Any = None, latent_dim: Any = None, **options) -> keras.Model:
        return build(name, input_shape, latent_dim, **options)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"build({name!r}, input_shape, latent_dim, **options); see variant_options."
    return fn


def deprecated_alias(old: str, name: str) -> Callable[..., keras.Model]:
    """The builder of `name` under its old function name, warning that the name changed."""

    @functools.wraps(builder(name))
    def fn(*args, **kwargs) -> keras.Model:
        warnings.warn(f"{old} is deprecated; use kerasae.build({name!r}, ...) or the builder "
                      f"{name}().", DeprecationWarning, stacklevel=2)
        return build(name, *args, **kwargs)

    fn.__name__ = fn.__qualname__ = old
    return fn


def _variant(name: str) -> Variant:
    if name not in _VARIANTS:
        raise ValueError(
            f"unknown variant {name!r}; expected one of {variants()}."
            f"{closest(str(name), _VARIANTS)}"
        )
    return _VARIANTS[name]
