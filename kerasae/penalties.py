"""Regularising penalties an autoencoder adds to its reconstruction loss.

Each penalty has a `name` (its entry in the training logs) and is called with the model, the
clean input batch and the model's outputs; it returns its weighted scalar contribution.
They are Keras-serialisable, so a saved model restores them with their options.
"""

from __future__ import annotations

import keras

from kerasae import losses
from kerasae._checks import check_range
from kerasae.autodiff import batch_jacobian


class Penalty:
    name: str = "penalty"

    def __call__(self, model, x, outputs):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


@keras.saving.register_keras_serializable(package="kerasae")
class KLSparsity(Penalty):
    """beta * sum_j KL(rho || rho_hat_j): pulls each code unit's mean activation to `rho`.

    Needs code activations in (0, 1) (a sigmoid code layer).
    """

    name = "sparsity_loss"

    def __init__(self, rho: float = 0.05, beta: float = 0.1):
        self.rho = check_range(rho, 0.0, 1.0, "rho (target mean activation)", inclusive=False)
        self.beta = check_range(beta, 0.0, float("inf"), "beta (sparsity weight)")

    def __call__(self, model, x, outputs):
        return self.beta * losses.kl_sparsity(outputs["code"], self.rho)

    def get_config(self):
        return {"rho": self.rho, "beta": self.beta}


@keras.saving.register_keras_serializable(package="kerasae")
class L1Sparsity(Penalty):
    """lam * mean over the batch of sum_j |h_j|."""

    name = "sparsity_loss"

    def __init__(self, lam: float = 1e-4):
        self.lam = check_range(lam, 0.0, float("inf"), "lam (L1 weight)")

    def __call__(self, model, x, outputs):
        return self.lam * losses.l1_activity(outputs["code"])

    def get_config(self):
        return {"lam": self.lam}


@keras.saving.register_keras_serializable(package="kerasae")
class Contractive(Penalty):
    """weight * mean over the batch of ||d code / d x||_F^2 (Rifai et al. 2011)."""

    name = "contractive_loss"

    def __init__(self, weight: float = 1e-2):
        self.weight = check_range(weight, 0.0, float("inf"), "contractive_weight")

    def __call__(self, model, x, outputs):
        jacobian = batch_jacobian(lambda inputs: model.encoder(inputs), x)
        return self.weight * keras.ops.mean(losses.squared_frobenius(jacobian))

    def get_config(self):
        return {"weight": self.weight}
