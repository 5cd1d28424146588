"""Each default is declared once, in the model constructor: the typed specs take theirs from it."""

import dataclasses

import pytest

from kerasae.builders.common import model_defaults
from kerasae.builders.deterministic import AutoencoderObjective
from kerasae.builders.masked import MaskedObjective, VitNetwork
from kerasae.builders.probabilistic import VariationalObjective
from kerasae.builders.tcvae import TotalCorrelationObjective
from kerasae.models import (
    Autoencoder,
    MaskedAutoencoder,
    TotalCorrelationVAE,
    VariationalAutoencoder,
)

# spec -> (the model its objective or network configures, the fields both declare)
PAIRS = {
    AutoencoderObjective: (Autoencoder, {"reconstruction_loss"}),
    VariationalObjective: (VariationalAutoencoder, {
        "likelihood", "observation_std", "beta", "kl_warmup_steps", "free_bits",
        "capacity_max", "capacity_steps", "seed"}),
    TotalCorrelationObjective: (TotalCorrelationVAE, {
        "alpha", "beta", "gamma", "dataset_size", "likelihood", "observation_std", "seed"}),
    MaskedObjective: (MaskedAutoencoder, {"mask_ratio", "norm_pix_loss", "seed"}),
    VitNetwork: (MaskedAutoencoder, {"patch_size"}),
}


@pytest.mark.parametrize("spec", list(PAIRS), ids=lambda spec: spec.__name__)
def test_spec_defaults_are_the_model_constructors(spec):
    """Fails if a spec and its model disagree on a default (a literal typed into one of them),
    or if a field the two share stops being shared (a renamed constructor keyword)."""
    model, shared = PAIRS[spec]
    constructor = model_defaults(model)
    fields = {f.name: f.default for f in dataclasses.fields(spec)}
    assert set(fields) & set(constructor) == shared
    for name in shared:
        assert fields[name] == constructor[name] and type(fields[name]) is type(
            constructor[name]), name
