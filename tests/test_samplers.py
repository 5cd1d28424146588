"""GMM samplers: the fit, deterministic draws, model.sample(sampler="gmm"), the preset file
(sampler.npz: no pickle, sha256 checked) and `kerasae generate --sampler gmm`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from variant_specs import SPECS, images, vectors

import kerasae
from kerasae import cli
from kerasae.hub import IntegrityError, registry, zoo
from kerasae.hub.preset import METADATA, SAMPLER, load_preset, set_preset_sampler
from kerasae.samplers import GaussianMixtureSampler, fit_gmm, fit_gmm_sampler

MEANS = np.array([[-6.0, 0.0], [6.0, 0.0], [0.0, 8.0]])


def three_blobs(n_per: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([m + 0.5 * rng.standard_normal((n_per, 2)) for m in MEANS])


@pytest.fixture(scope="module")
def ae():
    model = kerasae.build("ae", **SPECS["ae"]["kwargs"])
    model.compile(optimizer="adam")
    model.fit(vectors(64), epochs=1, verbose=0)
    return model


@pytest.fixture(scope="module")
def vae():
    return kerasae.build("vae", **SPECS["vae"]["kwargs"])


def mixture(latent_dim: int, k: int = 3) -> GaussianMixtureSampler:
    rng = np.random.default_rng(1)
    return GaussianMixtureSampler(np.full(k, 1 / k), rng.standard_normal((k, latent_dim)),
                                  np.stack([np.eye(latent_dim) * 0.1] * k))


def test_fit_recovers_the_component_means():
    fitted = fit_gmm(three_blobs(), n_components=3, seed=0)
    order = np.argsort(fitted.means[:, 0] + 0.01 * fitted.means[:, 1])
    np.testing.assert_allclose(fitted.means[order], MEANS[[0, 2, 1]], atol=0.15)
    np.testing.assert_allclose(fitted.weights, 1 / 3, atol=0.01)
    np.testing.assert_allclose(fitted.covariances[order[0]], 0.25 * np.eye(2), atol=0.06)
    draws = fitted.sample(3000, seed=0)
    assert draws.shape == (3000, 2) and draws.dtype == np.float32
    nearest = np.argmin(((draws[:, None] - MEANS[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(np.bincount(nearest) / 3000, 1 / 3, atol=0.04)


def test_sampling_is_deterministic_given_the_seed():
    fitted = mixture(4)
    np.testing.assert_array_equal(fitted.sample(5, seed=3), fitted.sample(5, seed=3))
    assert not np.allclose(fitted.sample(5, seed=3), fitted.sample(5, seed=4))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        fitted.sample(0)
    assert fitted.to_bytes() == mixture(4).to_bytes()  # same mixture, same file, same sha256


def test_file_round_trip(tmp_path):
    fitted = mixture(3)
    loaded = GaussianMixtureSampler.load(fitted.save(tmp_path / "s.npz"))
    np.testing.assert_array_equal(loaded.covariances, fitted.covariances)
    np.testing.assert_array_equal(loaded.sample(4, seed=0), fitted.sample(4, seed=0))


def test_model_samples_from_its_fitted_mixture(ae):
    with pytest.raises(ValueError, match="no fitted gmm sampler.*fit_gmm_sampler"):
        ae.sample(4, sampler="gmm")
    with pytest.raises(ValueError, match="ae.*no prior to sample from.*sampler='gmm'"):
        ae.sample(4)
    with pytest.raises(ValueError, match="sampler"):
        ae.sample(4, sampler="flow")
    fitted = fit_gmm_sampler(ae, vectors(64), n_components=2, seed=0)
    assert ae.code_sampler is fitted and fitted.latent_dim == ae.latent_dim
    samples = ae.sample(6, seed=2, sampler="gmm")
    assert samples.shape == (6, *ae.data_shape)
    np.testing.assert_allclose(samples, ae.decode(fitted.sample(6, seed=2)), atol=1e-6)
    np.testing.assert_array_equal(samples, ae.sample(6, seed=2, sampler="gmm"))
    with pytest.raises(ValueError, match=f"over {ae.latent_dim}-dim codes"):
        ae.set_sampler(mixture(ae.latent_dim + 1))
    with pytest.warns(UserWarning, match="gmm sampler was dropped"):
        ae.fit(vectors(16), epochs=1, verbose=0)  # new codes: the old mixture is stale
    assert ae.code_sampler is None


def test_vae_keeps_its_prior_and_gains_gmm(vae):
    prior = vae.sample(3, seed=0)
    z = np.random.default_rng(0).standard_normal((3, vae.latent_dim)).astype("float32")
    np.testing.assert_allclose(prior, vae.decode(z), atol=1e-6)
    vae.set_sampler(mixture(vae.latent_dim))
    assert vae.sample(3, seed=0, sampler="gmm").shape == prior.shape
    vae.set_sampler(None)


@pytest.mark.parametrize("case", ["corrupt", "pickle", "not_pd", "bad_weights", "missing"])
def test_a_broken_sampler_file_is_refused_naming_it(tmp_path, case):
    path = tmp_path / "sampler.npz"
    good = mixture(2).to_arrays()
    if case == "corrupt":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif case == "pickle":
        np.savez(path, **good, extra=np.array([{"a": 1}], dtype=object))
    elif case == "not_pd":
        np.savez(path, **{**good, "covariances": np.stack([-np.eye(2)] * 3)})
    elif case == "bad_weights":
        np.savez(path, **{**good, "weights": np.array([0.5, 0.5, 0.5])})
    else:
        np.savez(path, **{k: v for k, v in good.items() if k != "means"})
    with pytest.raises(ValueError, match=str(path)):
        GaussianMixtureSampler.load(path)


def test_preset_round_trip_keeps_the_sampler(ae, tmp_path):
    ae.set_sampler(mixture(ae.latent_dim))
    folder = kerasae.save_preset(ae, tmp_path / "with_sampler")
    meta = json.loads((folder / METADATA).read_text())
    assert SAMPLER in meta["files"] and meta["sampler"]["n_components"] == 3
    assert "sampler=\"gmm\"" in (folder / "README.md").read_text()
    loaded = load_preset(folder)
    np.testing.assert_allclose(loaded.code_sampler.means, ae.code_sampler.means)
    np.testing.assert_allclose(loaded.sample(4, seed=1, sampler="gmm"),
                               ae.sample(4, seed=1, sampler="gmm"), atol=1e-5)
    # update_metadata keeps it; set_preset_sampler replaces or removes it, weights untouched
    weights = (folder / "model.weights.h5").read_bytes()
    kerasae.hub.update_metadata(folder, notes="checked")
    assert load_preset(folder).code_sampler is not None
    set_preset_sampler(folder, None)
    assert not (folder / SAMPLER).exists() and load_preset(folder).code_sampler is None
    assert (folder / "model.weights.h5").read_bytes() == weights
    ae.set_sampler(None)


def test_a_tampered_or_unlisted_sampler_is_refused(ae, tmp_path):
    ae.set_sampler(mixture(ae.latent_dim))
    folder = kerasae.save_preset(ae, tmp_path / "p")
    ae.set_sampler(None)
    other = tmp_path / "other.npz"
    mixture(ae.latent_dim, k=2).save(other)
    original = (folder / SAMPLER).read_bytes()
    shutil.copy(other, folder / SAMPLER)
    with pytest.raises(IntegrityError, match="sampler.npz does not match its recorded sha256"):
        load_preset(folder)
    (folder / SAMPLER).write_bytes(original)
    meta = json.loads((folder / METADATA).read_text())
    del meta["files"][SAMPLER]
    (folder / METADATA).write_text(json.dumps(meta))
    with pytest.raises(IntegrityError, match="sampler.npz is not listed"):
        load_preset(folder)


def test_registry_entry_lists_the_sampler(ae, tmp_path):
    ae.set_sampler(mixture(ae.latent_dim))
    folder = kerasae.save_preset(ae, tmp_path / "p")
    ae.set_sampler(None)
    entry = zoo.local_entry(folder)
    assert entry.file_names[-1] == SAMPLER and SAMPLER in entry.files
    assert entry.size == sum(f.stat().st_size for f in folder.iterdir())
    entry.check_files()


def test_cli_generate_with_the_gmm_sampler(tmp_path, monkeypatch, capsys):
    model = kerasae.build("conv_ae", **SPECS["conv_ae"]["kwargs"])
    fit_gmm_sampler(model, images(64), n_components=2, seed=0)
    root = tmp_path / "weights"
    kerasae.save_preset(model, root / "conv_ae_tiny")
    monkeypatch.setattr(registry, "bundled_root", lambda: root)
    monkeypatch.setattr(zoo, "presets", dict)
    out = tmp_path / "generate"
    assert cli.main(["generate", "conv_ae_tiny", "-n", "5", "--seed", "3", "--sampler", "gmm",
                     "--out", str(out)]) == 0
    samples = np.load(out / "samples.npy")
    np.testing.assert_allclose(samples, model.sample(5, seed=3, sampler="gmm"), atol=1e-5)
    assert (out / "samples.png").stat().st_size > 100
    capsys.readouterr()
    assert cli.main(["generate", "conv_ae_tiny", "--out", str(tmp_path / "x")]) == 2
    assert "no prior to sample from" in capsys.readouterr().err


def test_publish_uploads_and_pins_the_sampler(ae, tmp_path, monkeypatch, capsys):
    """The publish script uploads sampler.npz with the other files, the registry pins its
    sha256, and a second run finds the Hub copy identical (nothing uploaded)."""
    from test_publish import FakeHub, publish

    ae.set_sampler(mixture(ae.latent_dim))
    weights, registry_file = tmp_path / "weights", tmp_path / "zoo.json"
    kerasae.save_preset(ae, weights / "ae_tiny")
    ae.set_sampler(None)
    monkeypatch.setenv("HF_TOKEN", "hf_NotARealToken")
    assert publish.main(["--sync-registry"], None, weights, registry_file) == 0
    hub = FakeHub()
    assert publish.main(["--org", "someone"], hub.Api, weights, registry_file) == 0
    entry = zoo.read_registry(registry_file)["ae_tiny"]
    files = hub.repos["someone/ae_tiny"]["commits"][entry.revision]
    assert files[SAMPLER] == (weights / "ae_tiny" / SAMPLER).read_bytes()
    assert entry.files[SAMPLER] == json.loads(
        (weights / "ae_tiny" / METADATA).read_text())["files"][SAMPLER]
    uploads = hub.names("upload_folder")
    assert publish.main(["--org", "someone"], hub.Api, weights, registry_file) == 0
    assert hub.names("upload_folder") == uploads
    assert publish.main(["--org", "someone", "--dry-run"], None, weights, registry_file) == 0
    assert "1 presets, 5 files" in capsys.readouterr().out
