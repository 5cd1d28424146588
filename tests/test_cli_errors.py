"""How the `kerasae` command fails: exit status 2, one line on stderr naming what was wrong, no
traceback, and nothing written (no --out folder) when the inputs are bad. Also: `--help`,
`list` and `info` never import Keras or a backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerasae import cli

ROOT = Path(__file__).resolve().parent.parent


def run(argv, capsys) -> tuple[int, str, str]:
    """main(argv) in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as stop:  # argparse: --help or a usage error
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_failure(code: int, err: str, *fragments: str) -> None:
    """Exit 2; the last stderr line is the error, the lines before it only progress."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and lines[-1].startswith("kerasae"), err
    assert [line for line in lines if "error:" in line] == lines[-1:], err
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])


@pytest.fixture
def digits(tmp_path):
    path = tmp_path / "digits.npy"
    np.save(path, np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 1)).astype("float32"))
    return path


def test_out_that_is_a_file_is_refused_and_kept(tmp_path, digits, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    code, _, err = run(["reconstruct", "ae_mnist", digits, "--out", taken], capsys)
    assert_one_line_failure(code, err, "--out", "is not a folder")
    assert taken.read_text() == "mine"
    code, _, err = run(["generate", "vae_mnist", "--out", taken / "sub"], capsys)
    assert_one_line_failure(code, err, "cannot be created", "notes.txt")


def test_bad_inputs_create_nothing(tmp_path, digits, capsys):
    out = tmp_path / "out"
    np.savez(tmp_path / "empty.npz")
    (tmp_path / "fake.png").write_text("not a picture")
    (tmp_path / "objects.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(tmp_path / "wrong.npy", np.zeros((2, 9, 9, 1), "float32"))
    cases = [
        (["reconstruct", "ae_mnist", tmp_path / "missing.npy"], ("missing.npy", "does not exist")),
        (["reconstruct", "ae_mnist", tmp_path], ("fake.png", "could not be read as an image")),
        (["reconstruct", "ae_mnist", tmp_path / "empty.npz"], ("empty.npz", "no arrays")),
        (["reconstruct", "ae_mnist", tmp_path / "objects.npy"], ("objects.npy",)),
        (["reconstruct", "ae_mnist", tmp_path / "fake.png"], ("fake.png",)),
        (["reconstruct", "ae_mnist", tmp_path / "wrong.npy"], ("(N, 28, 28, 1)",)),
        (["retrieve", "ae_mnist", digits, tmp_path / "missing.npy"], ("missing.npy",)),
        (["traverse", "vae_mnist", digits, "--index", "9"], ("--index must be in 0..3",)),
        (["generate", "conv_ae_mnist"], ("no prior",)),
        (["info", "vae_mnsit"], ("unknown preset", "vae_mnist")),
    ]
    for argv, fragments in cases:
        code, _, err = run([*argv, "--out", out] if argv[0] != "info" else argv, capsys)
        assert_one_line_failure(code, err, *fragments)
        assert not out.exists(), argv


def test_options_are_named_and_limited_before_anything_loads(tmp_path, digits, capsys):
    cases = [
        (["generate", "vae_mnist", "--seed", "-1"], ("--seed", "-1")),
        (["generate", "vae_mnist", "-n", "100000000000000"], ("-n", "<= 100000")),
        (["generate", "vae_mnist", "-n", "2.5"], ("-n", "integer")),
        (["traverse", "vae_mnist", digits, "--span", "nan"], ("--span",)),
        (["anomaly", "ae_mnist", digits, digits, "--contamination", "2"], ("--contamination",)),
        (["retrieve", "ae_mnist", digits, digits, "-k", "0"], ("-k",)),
        (["generate"], ("handle",)),
        (["no-such-command"], ("invalid choice",)),
    ]
    for argv, fragments in cases:
        code, _, err = run(argv, capsys)
        assert_one_line_failure(code, err, *fragments)


def test_labels_file_that_is_not_numpy(tmp_path, digits, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("0 1 0 1")
    out = tmp_path / "out"
    code, _, err = run(["anomaly", "ae_mnist", digits, digits, "--labels", notes, "--out", out],
                       capsys)
    assert_one_line_failure(code, err, "--labels", "notes.txt", ".npy or .npz")
    (tmp_path / "notes.npy").write_text("0 1 0 1")
    code, _, err = run(["anomaly", "ae_mnist", digits, digits, "--labels",
                        tmp_path / "notes.npy", "--out", out], capsys)
    assert_one_line_failure(code, err, "--labels", "not a readable numpy array file")
    np.save(tmp_path / "short.npy", np.zeros(3))
    code, _, err = run(["anomaly", "ae_mnist", digits, digits, "--labels",
                        tmp_path / "short.npy", "--out", out], capsys)
    assert_one_line_failure(code, err, "--labels", "shape (4,)")
    assert not out.exists()


def test_os_errors_while_writing_are_one_line(tmp_path, monkeypatch, capsys):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, _, err = run(["generate", "vae_mnist", "-n", "2", "--out", tmp_path / "o"], capsys)
    assert_one_line_failure(code, err, "Permission denied", str(tmp_path / "o"))
    monkeypatch.setattr(cli.os, "access", lambda path, mode: False)
    code, _, err = run(["generate", "vae_mnist", "--out", tmp_path / "o"], capsys)
    assert_one_line_failure(code, err, "--out", "no permission")


def test_push_without_network_says_the_hub_is_unreachable(tmp_path, monkeypatch, capsys):
    import httpx2
    import huggingface_hub

    class Offline:
        def create_repo(self, *args, **kwargs):
            raise httpx2.ConnectError("[Errno -2] Name or service not known")

    monkeypatch.setattr(huggingface_hub, "HfApi", Offline)
    folder = ROOT / "weights" / "ae_mnist"
    code, _, err = run(["push", folder, "hf://me/ae"], capsys)
    assert_one_line_failure(code, err, "cannot reach the Hugging Face Hub")
    code, _, err = run(["push", tmp_path / "nothing", "hf://me/ae"], capsys)
    assert_one_line_failure(code, err, "no preset folder")


def test_a_bug_is_one_line_with_status_2(monkeypatch, capsys):
    def broken(args):
        raise TypeError("oops")

    monkeypatch.setitem(cli.COMMANDS, "list", broken)
    code, _, err = run(["list"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "internal error (TypeError: oops)" in err


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["info", "vae_mnist"]])
def test_quick_commands_import_no_backend(argv):
    probe = (
        "import sys\n"
        "from kerasae import cli\n"
        "try:\n"
        f"    code = cli.main({argv!r})\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert "HEAVY [] 0" in done.stderr, done.stderr[-2000:]
    if argv[0] == "info":
        assert json.loads(done.stdout)["variant"] == "vae"
    if argv[0] == "list":
        assert done.stdout.split()[0] == "ae_mnist"


def test_retracing_notices_are_dropped_and_other_messages_kept():
    import logging

    from kerasae.apps.demo import hide_retracing_notices

    hide_retracing_notices()
    hide_retracing_notices()  # once only
    logger = logging.getLogger("tensorflow")
    filters = [f for f in logger.filters if type(f).__name__ == "_NoRetracingNotice"]
    assert len(filters) == 1

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message,
                                 None, None)

    notice = ("5 out of the last 6 calls to <function one_step_on_data_distributed> triggered "
              "tf.function retracing. Tracing is expensive")
    assert not logger.filter(record(notice))
    assert logger.filter(record("a real warning"))
