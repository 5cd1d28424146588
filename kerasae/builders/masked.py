"""masked_ae: the masked autoencoder of He et al. (2021) with small ViT encoder and decoder.

The networks are Functional models built from stock Keras layers (Dense, LayerNormalization,
MultiHeadAttention) plus the patch layers of `kerasae.patches`; every layer has a fixed name, so
weights files load by name on any backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import keras
from keras import layers, ops

from kerasae._checks import check_choice, check_int, check_seed
from kerasae.builders.common import NetworkSpec, model_defaults, settle
from kerasae.models.masked import MaskedAutoencoder
from kerasae.patches import (
    POSITION_EMBEDDINGS,
    GatherPatches,
    Patchify,
    PositionEmbedding,
    ScatterPatches,
    check_mask_ratio,
    num_masked,
    patch_grid,
)
from kerasae.variants import Variant, builder, deprecated_alias, register

_LN_EPSILON = 1e-6
_MAE = model_defaults(MaskedAutoencoder)  # patch_size and the objective's defaults


def _check_heads(width, heads, width_name, heads_name):
    heads = check_int(heads, heads_name)
    if width % heads:
        raise ValueError(
            f"{width_name}={width} must be divisible by {heads_name}={heads} (each head gets "
            f"{width_name} / {heads_name} dimensions)."
        )


@dataclass(frozen=True)
class VitNetwork(NetworkSpec):
    """The MAE's ViT encoder/decoder pair, for images (height, width, channels).

    patch_size: side of the square, non-overlapping patches (must divide height and width).
    embed_dim, depth, num_heads: width, number of Transformer blocks and attention heads of the
        encoder, which sees only the visible patches.
    decoder_embed_dim, decoder_depth, decoder_num_heads: the same for the (lighter) decoder.
    mlp_ratio: width of each block's MLP relative to its embedding.
    pos_embedding: "sincos" (fixed 2-D sine-cosine, as in the paper) or "learned".
    """

    architecture: ClassVar[str] = "vit"
    required_rank: ClassVar[int | None] = 3
    input_kind: ClassVar[str] = "image input_shape (height, width, channels)"
    input_hint: ClassVar[str] = "Add a channel axis, e.g. (28, 28, 1)."
    patch_size: int = _MAE["patch_size"]
    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 4
    decoder_embed_dim: int = 32
    decoder_depth: int = 2
    decoder_num_heads: int = 4
    mlp_ratio: float = 4.0
    pos_embedding: str = "sincos"

    def __post_init__(self):
        settle(self, **{name: check_int(getattr(self, name), name) for name in (
            "patch_size", "embed_dim", "decoder_embed_dim", "depth", "decoder_depth")})
        _check_heads(self.embed_dim, self.num_heads, "embed_dim", "num_heads")
        _check_heads(self.decoder_embed_dim, self.decoder_num_heads, "decoder_embed_dim",
                     "decoder_num_heads")
        mlp_ratio = self.mlp_ratio
        if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, (int, float)) or mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be a positive number; got {mlp_ratio!r}.")
        check_choice(self.pos_embedding, POSITION_EMBEDDINGS, "pos_embedding")
        if self.pos_embedding == "sincos":
            for width, what in ((self.embed_dim, "embed_dim"),
                                (self.decoder_embed_dim, "decoder_embed_dim")):
                if width % 4:
                    raise ValueError(
                        f"pos_embedding='sincos' needs {what} divisible by 4; got {width}. "
                        "Change it or use pos_embedding='learned'."
                    )

    def input_user(self) -> str:
        return "masked_ae"

    def check_input(self, input_shape):
        super().check_input(input_shape)
        patch_grid(input_shape, self.patch_size)

    def _pair(self, input_shape, latent_dim, z_dim, enc, dec):
        if any(value is not None for value in (*enc.values(), *dec.values())):
            raise ValueError("the ViT network takes no code or output activation and no "
                             f"condition; got {enc} and {dec}.")
        encoder = vit_encoder(input_shape, self.patch_size, latent_dim, self.embed_dim,
                              self.depth, self.num_heads, self.mlp_ratio, self.pos_embedding)
        decoder = vit_decoder(patch_grid(input_shape, self.patch_size),
                              self.patch_size**2 * input_shape[-1], z_dim,
                              self.decoder_embed_dim, self.decoder_depth,
                              self.decoder_num_heads, self.mlp_ratio, self.pos_embedding)
        return encoder, decoder


@dataclass(frozen=True)
class MaskedObjective:
    """What the MAE trains on. mask_ratio: fraction of patches hidden per example, in (0, 1);
    exactly round(mask_ratio * num_patches) are masked and the loss is taken on those only.
    norm_pix_loss: predict each patch normalised by its own mean and standard deviation.
    seed: fixes the training masks' random stream and the inference mask."""

    mask_ratio: float = _MAE["mask_ratio"]
    norm_pix_loss: bool = _MAE["norm_pix_loss"]
    seed: int | None = _MAE["seed"]

    def __post_init__(self):
        settle(self, mask_ratio=check_mask_ratio(self.mask_ratio), seed=check_seed(self.seed))


_VIT, _OBJECTIVE = VitNetwork(), MaskedObjective()
OPTIONS = {name: getattr(_VIT if name in VitNetwork.fields() else _OBJECTIVE, name)
           for name in ("patch_size", "mask_ratio", "embed_dim", "depth", "num_heads",
                        "decoder_embed_dim", "decoder_depth", "decoder_num_heads", "mlp_ratio",
                        "pos_embedding", "norm_pix_loss", "seed")}


def masked(input_shape: tuple[int, ...], latent_dim: int, **options) -> MaskedAutoencoder:
    """The MAE family builder: a `VitNetwork` trained on a `MaskedObjective`, both made from
    `options` (defaults in OPTIONS). latent_dim: width of the code tokens the encoder hands the
    decoder; `encode` returns their mean over patches."""
    input_shape = tuple(input_shape)
    network = VitNetwork(**{k: v for k, v in options.items() if k in VitNetwork.fields()})
    objective = MaskedObjective(**{k: v for k, v in options.items()
                                   if k not in VitNetwork.fields()})
    network.check_input(input_shape)
    num_masked(math.prod(patch_grid(input_shape, network.patch_size)), objective.mask_ratio)
    encoder, decoder = network.build(input_shape, latent_dim)
    return MaskedAutoencoder(encoder, decoder, patch_size=network.patch_size,
                             mask_ratio=objective.mask_ratio,
                             norm_pix_loss=objective.norm_pix_loss, seed=objective.seed)


register(Variant("masked_ae", masked, OPTIONS, networked=False))
masked_ae = builder("masked_ae")
masked_autoencoder = deprecated_alias("masked_autoencoder", "masked_ae")


def vit_encoder(image_shape, patch_size, latent_dim, embed_dim, depth, num_heads, mlp_ratio,
                pos_embedding) -> keras.Model:
    """encoder([images, keep]) -> (batch, num_keep, latent_dim) code tokens of the patches whose
    indices are in `keep` (batch, num_keep); position embeddings are added before selecting."""
    images = keras.Input(image_shape, name="images")
    keep = keras.Input((None,), dtype="int32", name="keep")
    patches = Patchify(patch_size, name="patchify")(images)
    tokens = layers.Dense(embed_dim, name="patch_embed")(patches)
    tokens = PositionEmbedding(patch_grid(image_shape, patch_size), pos_embedding,
                               name="pos_embed")(tokens)
    tokens = GatherPatches(name="visible_patches")([tokens, keep])
    for i in range(depth):
        tokens = transformer_block(tokens, num_heads, mlp_ratio, f"encoder_block_{i}")
    tokens = layers.LayerNormalization(epsilon=_LN_EPSILON, name="encoder_norm")(tokens)
    code = layers.Dense(latent_dim, name="code")(tokens)
    return keras.Model([images, keep], code, name="encoder")


def vit_decoder(grid, patch_dim, latent_dim, embed_dim, depth, num_heads, mlp_ratio,
                pos_embedding) -> keras.Model:
    """decoder([code, keep]) -> (batch, num_patches, patch_dim): the visible patches' code tokens
    back at their positions, a learned mask token at the others, then Transformer blocks and a
    linear prediction of each patch's pixels."""
    code = keras.Input((None, latent_dim), name="code")
    keep = keras.Input((None,), dtype="int32", name="keep")
    tokens = layers.Dense(embed_dim, name="decoder_embed")(code)
    tokens = ScatterPatches(math.prod(grid), name="mask_token")([tokens, keep])
    tokens = PositionEmbedding(grid, pos_embedding, name="decoder_pos_embed")(tokens)
    for i in range(depth):
        tokens = transformer_block(tokens, num_heads, mlp_ratio, f"decoder_block_{i}")
    tokens = layers.LayerNormalization(epsilon=_LN_EPSILON, name="decoder_norm")(tokens)
    prediction = layers.Dense(patch_dim, name="prediction")(tokens)
    return keras.Model([code, keep], prediction, name="decoder")


def transformer_block(tokens, num_heads, mlp_ratio, prefix):
    """Pre-norm Transformer block: x + MHA(LN(x)), then x + MLP(LN(x)) with a GELU MLP."""
    dim = tokens.shape[-1]
    h = layers.LayerNormalization(epsilon=_LN_EPSILON, name=f"{prefix}_norm1")(tokens)
    h = layers.MultiHeadAttention(num_heads, key_dim=dim // num_heads,
                                  name=f"{prefix}_attention")(h, h)
    tokens = layers.Add(name=f"{prefix}_add1")([tokens, h])
    h = layers.LayerNormalization(epsilon=_LN_EPSILON, name=f"{prefix}_norm2")(tokens)
    h = layers.Dense(max(1, int(dim * mlp_ratio)), activation=gelu, name=f"{prefix}_mlp1")(h)
    h = layers.Dense(dim, name=f"{prefix}_mlp2")(h)
    return layers.Add(name=f"{prefix}_add2")([tokens, h])


@keras.saving.register_keras_serializable(package="kerasae")
def gelu(x):
    """Exact GELU, x * Phi(x) = x/2 * (1 + erf(x / sqrt(2))), as in MAE. Written with erf because
    Keras' "gelu" lowers to TensorFlow's Erfc, which ONNX does not have."""
    return 0.5 * x * (1.0 + ops.erf(x * 0.7071067811865476))
