"""What the apps and metrics ask of a model: small `typing.Protocol`s of public methods.

Every kerasae model satisfies `AutoencoderLike` (what every autoencoder has: shapes, encode,
reconstruct, score); all but the masked autoencoder also `Decodes` and `Samples` (the VAEs are
`Variational` too, the cvae `Conditioned`, the masked autoencoder `Masked`), but so does any
object with the same methods: a user's numpy model, a wrapper around another library's. The
apps and metrics take the narrowest protocol they need (an anomaly detector only scores, so it
takes `Scores`) and check it with `isinstance` (the protocols are runtime-checkable: that
checks the names exist, the call signatures are the caller's promise). Nothing here imports
Keras.

    from kerasae.protocols import AutoencoderLike
    isinstance(kerasae.build("ae", input_shape=(8,), latent_dim=2), AutoencoderLike)  # True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Shaped(Protocol):
    """Knows its data and code shapes."""

    @property
    def data_shape(self) -> tuple[int, ...]:
        """The shape of one example, batch axis excluded."""
        ...

    @property
    def latent_dim(self) -> int:
        """The size of one code."""
        ...


@runtime_checkable
class Encodes(Protocol):
    def encode(self, x: Any, batch_size: int = 256, condition: Any = None) -> np.ndarray:
        """Codes (N, latent_dim) of a batch (N, *data_shape)."""
        ...


@runtime_checkable
class Decodes(Protocol):
    def decode(self, z: Any, batch_size: int = 256, condition: Any = None) -> np.ndarray:
        """Examples (N, *data_shape) from codes (N, latent_dim)."""
        ...


@runtime_checkable
class Reconstructs(Protocol):
    def reconstruct(self, x: Any, batch_size: int = 256, condition: Any = None) -> np.ndarray:
        """decode(encode(x)), deterministic: (N, *data_shape)."""
        ...


@runtime_checkable
class Scores(Protocol):
    def reconstruction_error(self, x: Any, batch_size: int = 256,
                             condition: Any = None) -> np.ndarray:
        """One anomaly score per example, (N,): higher is worse reconstructed."""
        ...


@runtime_checkable
class AutoencoderLike(Shaped, Encodes, Reconstructs, Scores, Protocol):
    """What every autoencoder offers (`kerasae.BaseAutoencoder`): shapes, encode, reconstruct,
    score. Decoding codes is `Decodes` (not the masked autoencoder's)."""


@runtime_checkable
class GenerativeLike(AutoencoderLike, Decodes, Protocol):
    """An autoencoder that also decodes codes to examples (`kerasae.Autoencoder` and the VAEs)."""


@runtime_checkable
class Samples(Protocol):
    def sample(self, n: int, seed: int | None = None, sampler: str = "prior",
               condition: Any = None, batch_size: int = 256) -> np.ndarray:
        """n generated examples (n, *data_shape); the same seed gives the same draws."""
        ...


@runtime_checkable
class Posterior(Protocol):
    def encode_distribution(self, x: Any, batch_size: int = 256,
                            condition: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, log_variance) of the Gaussian q(z | x), each (N, latent_dim)."""
        ...


@runtime_checkable
class Variational(Posterior, Protocol):
    """A VAE as the likelihood bounds use it: q(z | x), p(x | z) and its input checks."""

    def log_likelihood(self, x: Any, z: Any, condition: Any = None,
                       batch_size: int = 1024) -> np.ndarray:
        """log p(x | z) per example, (N,)."""
        ...

    def check_inputs(self, x: Any, what: str = "x") -> np.ndarray:
        """x as the float32 batch the model takes, or a ValueError saying why not."""
        ...


@runtime_checkable
class Conditioned(Protocol):
    """A conditional model (the cvae): its inputs come with class labels."""

    num_classes: int  # labels are integers in [0, num_classes)

    def check_labels(self, labels: Any, n: int) -> np.ndarray:
        """n class labels as int32, or a ValueError saying what was expected."""
        ...


@runtime_checkable
class Masked(Protocol):
    def inference_mask(self) -> np.ndarray:
        """(height, width) bool, True on the pixels hidden from the encoder at inference."""
        ...


def require_decoder(model: Any, what: str) -> None:
    """Refuse, before any work, a model that cannot decode codes (the masked autoencoder, or an
    object without `decode`): `what` says what needed it, e.g. "its codes cannot be
    interpolated"."""
    if not isinstance(model, Decodes):
        raise ValueError(
            f"{describe(model)} has no decoder from codes to data, so {what}; use a model with "
            "decode(), e.g. ae, conv_ae or vae."
        )


def condition_kwargs(condition: Any) -> dict[str, Any]:
    """{"condition": condition}, or {} when there is none: models without the keyword (a
    user's numpy model, a Keras encoder) are then called as they expect."""
    return {} if condition is None else {"condition": condition}


def describe(model: Any) -> str:
    """A model's class and variant for messages, e.g. 'Autoencoder (ae)'."""
    variant = getattr(model, "variant", None)
    return f"{type(model).__name__} ({variant})" if variant else type(model).__name__
