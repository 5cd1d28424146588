"""The masked autoencoder (MAE, He et al. 2021): hide most patches, predict them from the rest.

The image is cut into patches; each training step hides a fresh random `mask_ratio` of them per
example. The encoder sees only the visible patches (embedded, with position embeddings) and maps
each to a code token of width `latent_dim`; a light decoder puts a learned mask token at every
hidden position, adds its own position embeddings and predicts the pixels of every patch. The
loss is the squared error on the masked patches only, optionally against per-patch normalised
pixels (`norm_pix_loss`).

The numpy methods (all deterministic):

- `encode(x)` -> (N, latent_dim): the mean over all patches of the code tokens of the UNMASKED
  image. The code tokens are the encoder's output projected to `latent_dim`, the one path from
  encoder to decoder (the paper's encoder-to-decoder linear map, factored through `latent_dim`),
  so `latent_dim` is the width of what the decoder is trained to use.
- `reconstruct(x)` -> (N, H, W, C): the masked reconstruction, the picture of the paper: the
  patches hidden by the fixed inference mask (`inference_mask()`) are the decoder's
  predictions, the visible ones are the input's own pixels. A reconstruction without masking is
  not offered: the loss never trains the predictions at visible positions.
- `reconstruction_error(x)` -> (N,): the training loss of each example under the inference mask
  (the anomaly score "how badly can the hidden part be inpainted").
- no `decode(z)` and no `sample(n)`: the MAE has no decoder from a code vector to an image
  (it extends `BaseAutoencoder`, not the `Generative` mixin), so apps that decode refuse it
  (`kerasae.protocols.require_decoder`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasae._checks import check_seed
from kerasae.models.base import BaseAutoencoder
from kerasae.patches import (
    AllPatches,
    Patchify,
    RandomPatchMasking,
    Unpatchify,
    patch_grid,
    patchify,
)

NORM_PIX_EPSILON = 1e-6


def patch_statistics(patches):
    """Per-patch mean and unbiased variance over the patch's pixels, each (..., 1)."""
    patches = ops.convert_to_tensor(patches)
    count = patches.shape[-1]
    mean = ops.mean(patches, axis=-1, keepdims=True)
    var = ops.sum(ops.square(patches - mean), axis=-1, keepdims=True) / (count - 1)
    return mean, var


def patch_targets(patches, norm_pix_loss: bool):
    """What the decoder predicts: the patches, or with `norm_pix_loss` each patch normalised to
    (p - mean(p)) / sqrt(var(p) + 1e-6) with the unbiased variance, as in the reference code."""
    patches = ops.convert_to_tensor(patches)
    if not norm_pix_loss:
        return patches
    mean, var = patch_statistics(patches)
    return (patches - mean) / ops.sqrt(var + NORM_PIX_EPSILON)


def masked_squared_error(target, prediction, mask):
    """Per-example loss, shape (batch,): the mean squared error over the pixels of the masked
    patches (mask 1.0); predictions at visible patches (mask 0.0) do not count."""
    prediction = ops.cast(prediction, "float32")  # in float32 under mixed precision too
    target = ops.cast(target, "float32")
    mask = ops.cast(mask, "float32")
    per_patch = ops.mean(ops.square(prediction - target), axis=-1)
    return ops.sum(per_patch * mask, axis=-1) / ops.sum(mask, axis=-1)


@keras.saving.register_keras_serializable(package="kerasae")
class MaskedAutoencoder(BaseAutoencoder):
    """MAE: `encoder([images, keep]) -> code tokens` sees only the patches listed in `keep`;
    `decoder([code tokens, keep]) -> (batch, num_patches, patch_dim)` predicts every patch.

    Calling the model returns a dict with "decoder_output" (predicted patches, in normalised
    pixel space when `norm_pix_loss`), "code" (the visible patches' code tokens) and "mask"
    ((batch, num_patches), 1.0 = masked). See the module docstring for the numpy methods.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        patch_size: int = 4,
        mask_ratio: float = 0.75,
        norm_pix_loss: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(encoder, decoder, reconstruction_loss="mse", **kwargs)
        if len(encoder.inputs) != 2 or len(decoder.inputs) != 2:
            raise ValueError(
                "MaskedAutoencoder needs encoder([images, keep]) and decoder([code, keep]) "
                f"networks with two inputs each; got {len(encoder.inputs)} and "
                f"{len(decoder.inputs)} inputs."
            )
        image_shape = self.data_shape
        rows, cols = patch_grid(image_shape, patch_size)
        self.patch_size = int(patch_size)
        self.num_patches = rows * cols
        patch_dim = self.patch_size**2 * image_shape[-1]
        if not isinstance(norm_pix_loss, (bool, np.bool_)):
            raise ValueError(f"norm_pix_loss must be True or False; got {norm_pix_loss!r}.")
        if norm_pix_loss and patch_dim < 2:
            raise ValueError(
                "norm_pix_loss normalises each patch by its own variance and needs patches of "
                f"at least 2 values; got patch_size={patch_size} on {image_shape[-1]} channel(s)."
            )
        self.norm_pix_loss = bool(norm_pix_loss)
        self.seed = check_seed(seed)
        self.patchify = Patchify(self.patch_size, name="patchify")
        self.masking = RandomPatchMasking(mask_ratio, seed=self.seed, name="masking")
        self.masking.build((None, self.num_patches, patch_dim))
        self.unpatchify = Unpatchify(self.patch_size, image_shape, name="unpatchify")

    @property
    def mask_ratio(self) -> float:
        return self.masking.mask_ratio

    # ----- the objective ------------------------------------------------------------------

    def call(self, inputs, training=False):
        x, _ = self._split(inputs)
        keep, mask = self.masking(self.patchify(x), training=training)
        code = self.encoder([x, keep], training=training)
        prediction = self.decoder([code, keep], training=training)
        return {"decoder_output": prediction, "code": code, "mask": mask}

    def loss_terms(self, x, condition, outputs) -> list:
        error = self.masked_error(x, outputs["decoder_output"], outputs["mask"])
        return [ops.mean(error)]

    def masked_error(self, x, prediction, mask):
        """Per-example loss (batch,) of predicted patches against images x under `mask`."""
        x = ops.cast(x, "float32")  # the function, not the layer: no cast to a mixed policy's dtype
        target = patch_targets(patchify(x, self.patch_size), self.norm_pix_loss)
        return masked_squared_error(target, prediction, mask)

    def per_example_reconstruction(self, x, decoder_output):
        raise ValueError(
            "masked_ae's reconstruction error needs the mask as well; use "
            "masked_error(x, prediction, mask) or reconstruction_error(x)."
        )

    # ----- numpy in, numpy out ------------------------------------------------------------

    def inference_mask(self) -> np.ndarray:
        """(height, width) bool, True on the pixels that `reconstruct` and `reconstruction_error`
        hide from the encoder (the same for every example)."""
        rows, cols = patch_grid(self.data_shape, self.patch_size)
        masked = np.ones(self.num_patches, dtype=bool)
        masked[self.masking.inference_keep()] = False
        block = np.ones((self.patch_size, self.patch_size), dtype=bool)
        return np.kron(masked.reshape(rows, cols), block).astype(bool)

    # ----- graphs for the endpoints -------------------------------------------------------

    def endpoint_graph(self, name: str, data, condition=None):
        patches = self.patchify(data)
        if name == "encode":
            keep = AllPatches(name="all_patches")(patches)
            code = self.encoder([data, keep])
            return keras.layers.GlobalAveragePooling1D(name="mean_over_patches")(code)
        keep, mask = self.masking(patches, training=False)
        prediction = self.decoder([self.encoder([data, keep]), keep])
        if name == "reconstruct":
            return self.unpatchify(self._paste(patches, prediction, mask))
        return self.masked_error(data, prediction, mask)

    def _paste(self, patches, prediction, mask):
        """Predicted pixels on the masked patches, the input's pixels on the visible ones.
        With `norm_pix_loss` the prediction is mapped back to pixels with each input patch's
        own mean and standard deviation (as in the paper's figures)."""
        if self.norm_pix_loss:
            mean, var = patch_statistics(patches)
            prediction = prediction * ops.sqrt(var + NORM_PIX_EPSILON) + mean
        return ops.where(ops.expand_dims(mask, -1) > 0.5, prediction, patches)

    # ----- serialisation ------------------------------------------------------------------

    def objective_config(self) -> dict:
        return {"patch_size": self.patch_size, "mask_ratio": self.mask_ratio,
                "norm_pix_loss": self.norm_pix_loss, "seed": self.seed}
