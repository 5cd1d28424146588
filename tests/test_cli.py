"""The `kerasae` command, run in-process through kerasae.cli.main."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from variant_specs import SPECS, images

import kerasae
from kerasae import cli
from kerasae.hub import registry, zoo


@pytest.fixture
def bundled(tmp_path, monkeypatch):
    """A bundled-weights folder holding one small trained conv_ae preset named conv_ae_tiny."""
    model = kerasae.build("conv_ae", **SPECS["conv_ae"]["kwargs"])
    model.compile(optimizer="adam")
    model.fit(images(64), epochs=1, verbose=0)
    root = tmp_path / "weights"
    kerasae.save_preset(model, root / "conv_ae_tiny", metadata={
        "dataset": {"name": "bars"},
        "metrics": {"test_mse": {"value": 0.0123, "split": "test", "description": "MSE"}},
    })
    monkeypatch.setattr(registry, "bundled_root", lambda: root)
    monkeypatch.setattr(zoo, "presets", dict)  # no zoo registry: bundled names only
    monkeypatch.setattr(cli, "bundled_root", lambda: root)  # list/info read JSON without the hub
    return model


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for command in ("variants", "list", "info", "export", "push", "reconstruct", "anomaly",
                    "generate", "traverse", "retrieve", "demo"):
        assert command in text


def test_variants_prints_the_registry(capsys):
    assert cli.main(["variants"]) == 0
    assert capsys.readouterr().out.split() == kerasae.variants()


def test_list_and_info_show_bundled_presets(bundled, capsys):
    assert cli.main(["list"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("conv_ae_tiny") and "test_mse=0.0123" in line
    assert cli.main(["info", "conv_ae_tiny"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["variant"] == "conv_ae" and info["metrics"]["test_mse"]["value"] == 0.0123


def test_unknown_preset_is_a_clear_error_not_a_traceback(bundled, capsys):
    assert cli.main(["info", "conv_ae_tiyn"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'conv_ae_tiyn'" in err and "conv_ae_tiny" in err


def test_reconstruct_numpy_file(bundled, tmp_path, capsys):
    x = images(5, seed=3)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    assert cli.main(["reconstruct", "conv_ae_tiny", str(tmp_path / "x.npy"), "--out",
                     str(out)]) == 0
    recon = np.load(out / "reconstructions.npy")
    np.testing.assert_allclose(recon, bundled.reconstruct(x), atol=1e-5)
    errors = json.loads((out / "errors.json").read_text())
    np.testing.assert_allclose(errors, bundled.reconstruction_error(x), rtol=1e-4, atol=1e-6)
    assert (out / "reconstructions.png").stat().st_size > 0
    err = capsys.readouterr().err  # progress on stderr, results on stdout
    assert "loading conv_ae_tiny" in err and "reconstructing 5 inputs" in err


def test_reconstruct_image_files_are_resized_and_scaled(bundled, tmp_path):
    from PIL import Image

    originals = images(3, seed=4)
    paths = []
    for i, image in enumerate(originals):
        pixels = (image[..., 0] * 255).round().astype("uint8")
        big = Image.fromarray(pixels).resize((32, 32), Image.NEAREST)  # 4x larger, RGB
        paths.append(tmp_path / f"digit{i}.png")
        big.convert("RGB").save(paths[-1])
    x, from_images = cli.read_inputs([str(p) for p in paths], (8, 8, 1))
    assert from_images and x.shape == (3, 8, 8, 1) and x.dtype == np.float32
    assert np.abs(x - originals).mean() < 0.05  # grey, scaled to [0, 1], resized back to 8x8
    out = tmp_path / "out"
    assert cli.main(["reconstruct", "conv_ae_tiny", *map(str, paths), "--out", str(out)]) == 0
    np.testing.assert_allclose(np.load(out / "reconstructions.npy"), bundled.reconstruct(x),
                               atol=1e-5)


def test_reconstruct_rejects_wrong_shapes(bundled, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((4, 9, 9, 1), "float32"))
    assert cli.main(["reconstruct", "conv_ae_tiny", str(tmp_path / "bad.npy")]) == 2
    assert "(N, 8, 8, 1)" in capsys.readouterr().err


def test_export_writes_a_saved_model(bundled, tmp_path):
    out = tmp_path / "exported"
    assert cli.main(["export", "conv_ae_tiny", str(out), "--format", "tf_saved_model"]) == 0
    assert (out / "saved_model.pb").is_file()


def test_push_uploads_through_hfapi(bundled, tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    class FakeApi:
        def __init__(self, **kwargs):
            calls.append(("init", kwargs))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))
            return "commit"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    folder = registry.bundled_root() / "conv_ae_tiny"
    assert cli.main(["push", str(folder), "hf://me/conv-ae", "--private", "--message", "m"]) == 0
    assert calls[0] == ("init", {})  # no token in code: huggingface_hub reads HF_TOKEN itself
    assert calls[1] == ("create_repo", "me/conv-ae",
                        {"private": True, "exist_ok": True, "repo_type": "model"})
    upload = calls[2][1]
    assert upload["repo_id"] == "me/conv-ae" and upload["commit_message"] == "m"
    assert upload["folder_path"] == str(folder)


def test_demo_writes_the_gallery_from_bundled_presets(tmp_path):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backend"] == keras.backend.backend()
    assert metrics["denoising_denoised_psnr_db"] > metrics["denoising_noisy_psnr_db"] + 5
    assert metrics["conv_ae_mnist_psnr_db"] > 15
    assert 60 < metrics["vae_mnist_nll_nats_k100_200_digits"] < 130
    assert metrics["anomaly_auroc"] > 0.9  # faces among digits
    assert metrics["retrieval_top1_same_label"] > 0.8
    assert metrics["compression_8bit_ratio_vs_uint8"] > 10
    assert metrics["compression_8bit_psnr_db"] > metrics["compression_4bit_psnr_db"]
    for picture in ("reconstructions.png", "denoising.png", "vae_samples.png", "cvae_digits.png",
                    "interpolation.png", "traversal.png", "latent_map.png", "retrieval.png",
                    "anomalies.png", "hidden_units.png", "hidden_units_natural_patches.png",
                    "training_curves.png"):
        assert (out / picture).stat().st_size > 1000


@pytest.fixture
def mnist_files(tmp_path):
    from kerasae.data import load_mnist_sample

    (x_train, _), (x_test, y_test) = load_mnist_sample()
    paths = {"train": tmp_path / "train.npy", "test": tmp_path / "test.npy",
             "labels": tmp_path / "labels.npy"}
    faces = np.ones((10, 28, 28, 1), "float32") * 0.5  # flat grey: nothing like a digit
    np.save(paths["train"], x_train[:300])
    np.save(paths["test"], np.concatenate([x_test[:40], faces]))
    np.save(paths["labels"], np.r_[np.zeros(40), np.ones(10)].astype(int))
    return paths, x_test[:40]


def test_anomaly_scores_files_and_reports(mnist_files, tmp_path, capsys):
    paths, _ = mnist_files
    out = tmp_path / "anomaly"
    assert cli.main(["anomaly", "conv_ae_mnist", str(paths["train"]), str(paths["test"]),
                     "--labels", str(paths["labels"]), "--contamination", "0.05",
                     "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    scores, flags = np.load(out / "scores.npy"), np.load(out / "flags.npy")
    assert scores.shape == flags.shape == (50,)
    assert report["auroc"] > 0.9 and report["flagged"] == int(flags.sum())
    assert np.array_equal(flags, scores >= report["threshold"])
    assert "fitting the threshold on 300 normal examples" in capsys.readouterr().err


def test_generate_conditional_samples(tmp_path):
    out = tmp_path / "generate"
    assert cli.main(["generate", "cvae_mnist", "-n", "6", "--condition", "3", "--seed", "1",
                     "--out", str(out)]) == 0
    samples = np.load(out / "samples.npy")
    expected = kerasae.load("cvae_mnist").sample(6, seed=1, condition=3)
    np.testing.assert_allclose(samples, expected, atol=1e-6)
    assert (out / "samples.png").stat().st_size > 1000


def test_generate_refuses_a_model_without_prior(capsys):
    assert cli.main(["generate", "conv_ae_mnist"]) == 2
    assert "no prior to sample from" in capsys.readouterr().err


def test_traverse_sweeps_the_chosen_dims(mnist_files, tmp_path, capsys):
    paths, _ = mnist_files
    out = tmp_path / "traverse"
    assert cli.main(["traverse", "vae_mnist", str(paths["test"]), "--index", "2", "--dims",
                     "0", "5", "--span", "2", "--out", str(out)]) == 0
    grid = np.load(out / "traversal.npy")
    assert grid.shape == (2, 7, 28, 28, 1)
    assert json.loads(capsys.readouterr().out)["dims"] == [0, 5]
    assert cli.main(["traverse", "vae_mnist", str(paths["test"]), "--index", "50"]) == 2
    assert "--index must be in 0..49" in capsys.readouterr().err


def test_retrieve_returns_brute_force_neighbours(mnist_files, tmp_path):
    paths, queries = mnist_files
    out = tmp_path / "retrieve"
    assert cli.main(["retrieve", "conv_ae_mnist", str(paths["train"]), str(paths["test"]),
                     "-k", "3", "--out", str(out)]) == 0
    found = json.loads((out / "neighbours.json").read_text())
    model = kerasae.load("conv_ae_mnist")
    database = model.encode(np.load(paths["train"]))
    z = model.encode(queries[:5])
    cosine = (z / np.linalg.norm(z, axis=1, keepdims=True)) @ (
        database / np.linalg.norm(database, axis=1, keepdims=True)).T
    for i in range(5):
        assert found[i]["neighbours"] == np.argsort(-cosine[i])[:3].tolist()
    assert (out / "index.npz").is_file()
