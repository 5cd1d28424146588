"""Decoding codes and sampling: a mixin for autoencoders whose decoder maps a code vector to an
example (every variant but the masked autoencoder). Mixed in before the base:
`class Autoencoder(Generative, BaseAutoencoder)`."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import keras
import numpy as np

from kerasae._checks import check_choice, check_data, check_int

if TYPE_CHECKING:  # the mixin is always combined with a BaseAutoencoder (for the type checker)
    from kerasae.models.base import BaseAutoencoder as _Base
else:
    _Base = object


class Generative(_Base):
    """`decode(z)` and `sample(n)`: codes drawn from the prior (VAEs) or from a Gaussian
    mixture fitted on training codes (`sampler="gmm"`, any generative autoencoder)."""

    ENDPOINTS: tuple[str, ...] = ("encode", "decode", "reconstruct", "reconstruction_error")
    SAMPLERS = ("prior", "gmm")

    def decode(self, z, batch_size: int = 256, condition=None) -> np.ndarray:
        """Reconstructions in data space for codes `z` of shape (N, latent_dim)."""
        z = check_data(z, (self.latent_dim,), "z")
        return self._run("decode", self._with_condition(z, condition), batch_size)

    @property
    def code_sampler(self):
        """The fitted code sampler used by `sample(n, sampler="gmm")` (None until one is set
        with `set_sampler` or `kerasae.samplers.fit_gmm_sampler`, or loaded with a preset)."""
        return self.__dict__.get("_code_sampler")

    def set_sampler(self, sampler) -> None:
        """Attach a fitted code sampler (a `kerasae.samplers.GaussianMixtureSampler`), or None
        to drop it; `save_preset` then ships it as sampler.npz."""
        if sampler is not None:
            dim = getattr(sampler, "latent_dim", None)
            if not callable(getattr(sampler, "sample", None)) or dim != self.latent_dim:
                raise ValueError(
                    f"the sampler must be a fitted kerasae sampler over {self.latent_dim}-dim "
                    f"codes (kerasae.samplers.fit_gmm_sampler); got {sampler!r:.80}."
                )
        self.__dict__["_code_sampler"] = sampler  # plain attribute: not tracked by Keras

    def sample(self, n: int, seed: int | None = None, sampler: str = "prior", condition=None,
               batch_size: int = 256) -> np.ndarray:
        """n generated examples, decoder means of codes drawn from `sampler`: "prior" (VAEs:
        z ~ N(0, I)) or "gmm" (the mixture fitted on training codes, which any autoencoder
        can use). The same seed gives the same samples on every backend (numpy draws)."""
        n = check_int(n, "n (the number of samples)")
        check_choice(sampler, self.SAMPLERS, "sampler")
        if sampler == "prior":
            z = self._prior_codes(n, seed)
        else:
            if self.code_sampler is None:
                raise ValueError(
                    f"{type(self).__name__} ({self.variant or 'custom'}) has no fitted gmm "
                    "sampler. Fit one on training data first: kerasae.samplers."
                    "fit_gmm_sampler(model, x_train), then save_preset ships it."
                )
            z = self.code_sampler.sample(n, seed)
        return self.decode(z.astype("float32"), batch_size=batch_size, condition=condition)

    def _prior_codes(self, n: int, seed: int | None) -> np.ndarray:
        raise ValueError(
            f"{type(self).__name__} ({self.variant or 'custom'}) has no prior to sample from: "
            "only variational autoencoders (vae, beta_vae, cvae) define p(z). Fit a mixture on "
            "its training codes (kerasae.samplers.fit_gmm_sampler) and use sampler='gmm', or "
            "decode codes you choose (interpolate() or traverse())."
        )

    def _before_training(self) -> None:
        """Training moves the codes, so a gmm sampler fitted before is dropped (with a warning)
        rather than saved stale with the preset."""
        super()._before_training()
        if self.code_sampler is not None:
            warnings.warn("training changes the codes: the model's gmm sampler was dropped; "
                          "refit it with kerasae.samplers.fit_gmm_sampler(model, x_train).",
                          stacklevel=3)
            self.set_sampler(None)

    # ----- the decode endpoint ------------------------------------------------------------

    def _endpoint_input(self, name: str):
        if name == "decode":
            return keras.Input((self.latent_dim,), name="z")
        return super()._endpoint_input(name)

    def endpoint_graph(self, name: str, data, condition=None):
        if name == "decode":
            return self.mean_graph(self.decoder_graph(data, condition))
        return super().endpoint_graph(name, data, condition)
