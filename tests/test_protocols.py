"""The public surface apps and metrics rely on (kerasae.protocols), and the one-home checks."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kerasae
from kerasae import protocols
from kerasae._checks import IntegrityError, check_data, check_int, verify_sha256
from kerasae.apps import AnomalyDetector, sample

ROOT = Path(__file__).resolve().parents[1]


def test_models_satisfy_the_protocols_the_apps_take():
    """Fails if a model loses a public method an app or metric calls through a protocol."""
    ae = kerasae.build("ae", input_shape=(6,), latent_dim=2)
    vae = kerasae.build("vae", input_shape=(6,), latent_dim=2)
    mae = kerasae.build("masked_ae", input_shape=(8, 8, 1), latent_dim=8, patch_size=4)
    for model in (ae, vae, mae):
        assert isinstance(model, protocols.AutoencoderLike)
    for model in (ae, vae):
        assert isinstance(model, protocols.GenerativeLike)
        assert isinstance(model, protocols.Samples)
    # the masked autoencoder has no code-to-image decoder: no decode, no sample
    assert not isinstance(mae, protocols.Decodes) and not isinstance(mae, protocols.Samples)
    cvae = kerasae.build("cvae", input_shape=(6,), latent_dim=2, num_classes=3)
    assert isinstance(cvae, protocols.Conditioned) and not isinstance(vae, protocols.Conditioned)
    assert isinstance(vae, protocols.Variational) and not isinstance(ae, protocols.Posterior)
    assert isinstance(mae, protocols.Masked) and not isinstance(ae, protocols.Masked)


def test_apps_refuse_objects_without_the_method_they_need():
    """Fails if an app accepts an object lacking the protocol's method, or if the prior
    refusal of a deterministic model stops being the model's own."""
    with pytest.raises(TypeError, match="reconstruction_error"):
        AnomalyDetector(object())
    with pytest.raises(ValueError, match="has no sample"):
        sample(object(), 2)
    ae = kerasae.build("ae", input_shape=(6,), latent_dim=2)
    with pytest.raises(ValueError, match="no prior to sample from"):
        sample(ae, 2)


def test_one_integer_check_and_one_sha256_check(tmp_path):
    assert check_int(3, "n") == 3
    with pytest.raises(ValueError, match=r"stride must be an integer in \[1, 4\]; got 5"):
        check_int(5, "stride", maximum=4)
    with pytest.raises(ValueError, match="restarts must be a non-negative integer; got -1"):
        check_int(-1, "restarts", minimum=0)
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    verify_sha256(path, digest)
    with pytest.raises(IntegrityError, match=f"expected {'0' * 64}, got {digest}"):
        verify_sha256(path, "0" * 64)
    with pytest.raises(IntegrityError, match="is missing"):
        verify_sha256(tmp_path / "absent", digest)


def test_check_data_refuses_nonfinite_and_out_of_range_float64():
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        check_data(np.array([[1.0, np.nan]]), (2,))
    with pytest.raises(ValueError, match="beyond float32's range"):
        check_data(np.array([[1.0, 1e300]]), (2,))
    with pytest.raises(ValueError, match=r"must lie in \[0.0, 1.0\].*\[-1, 2\]"):
        check_data(np.array([[-1.0, 2.0]]), (2,), value_range=(0.0, 1.0))
    assert check_data(np.array([[0.0, 1.0]]), (2,), value_range=(0.0, 1.0)).dtype == np.float32


def test_protocols_and_preset_metadata_import_no_keras():
    probe = ("import sys, kerasae.protocols, kerasae.hub._meta\n"
             "print([m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]


def test_apps_that_decode_and_class_checked_presets_refuse_a_model_without_a_decoder():
    """Fails if an app that decodes starts work on a masked autoencoder (which has no decoder
    from codes), or if Autoencoder.from_preset hands one out."""
    from kerasae.apps import compression_report

    mae = kerasae.build("masked_ae", input_shape=(8, 8, 1), latent_dim=8, patch_size=4)
    with pytest.raises(ValueError, match=r"\(masked_ae\) has no decoder from codes to data, so "
                                         "its codes cannot be decompressed"):
        compression_report(mae, np.zeros((2, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"expected an Autoencoder; the preset holds a "
                                         r"MaskedAutoencoder.*MaskedAutoencoder.from_preset"):
        kerasae.Autoencoder.from_preset("masked_ae_mnist", compile=False)
    assert isinstance(kerasae.BaseAutoencoder.from_preset("masked_ae_mnist", compile=False),
                      kerasae.models.MaskedAutoencoder)
