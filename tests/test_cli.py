"""The `kerasae` command, run in-process through kerasae.cli.main."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from variant_specs import SPECS, images

import kerasae
from kerasae import cli
from kerasae.hub import registry


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
    return model


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for command in ("variants", "list", "info", "export", "push", "reconstruct", "demo"):
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
    for picture in ("reconstructions.png", "denoising.png", "vae_samples.png", "cvae_digits.png"):
        assert (out / picture).stat().st_size > 1000
