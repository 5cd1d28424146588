"""The one model class of the deterministic family, and the base of the variational ones."""

from __future__ import annotations

import keras

from kerasae.models.base import BaseAutoencoder
from kerasae.models.generative import Generative


@keras.saving.register_keras_serializable(package="kerasae")
class Autoencoder(Generative, BaseAutoencoder):
    """Encoder + decoder (+ corruption) trained on reconstruction loss plus penalties.

    Calling the model returns a dict with "decoder_output" (the reconstruction) and "code".
    `encode`, `decode`, `reconstruct` and `reconstruction_error` take and return numpy arrays;
    `sample(n, sampler="gmm")` decodes codes drawn from a mixture fitted on training codes.
    Registered with Keras as "kerasae>Autoencoder", the name presets' configs use.
    """
