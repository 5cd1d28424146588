"""Killed writes: a save_preset or export killed at any moment leaves the old or the new complete
artefact at the path (Linux: renameat2 RENAME_EXCHANGE), the next write removes the leftovers,
and the export subprocess never outlives its parent.

The writers run as subprocesses killed with SIGKILL: one at a random moment of a loop of saves
and exports, three that die exactly inside the swap window (a replaced `_crash_point` hook),
and, since a kerasae process takes seconds to start, ten more at random moments of a loop that
swaps real preset folders with the same atomic writer loaded alone (no Keras: it starts in
milliseconds).
They all run on the TensorFlow backend whatever backend pytest runs on: the file-writing logic
under test (kerasae._atomic) is the same on every backend, TensorFlow writes both formats itself
(no export subprocess of its own) and starts fastest here. The artefacts are then checked on
this process's backend (presets) and by one TensorFlow subprocess (SavedModels).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import kerasae
import kerasae._atomic as atomic_module
from kerasae._atomic import _owner_gone

export_module = importlib.import_module("kerasae.export")  # kerasae.export is also a function

SHAPE = {"input_shape": (8,), "latent_dim": 2}
INITIAL, FIRST, SECOND, NEXT = 0.75, 0.25, 0.5, 1.0  # every weight of a version holds this value

WRITER = f"INITIAL, FIRST, SECOND = {(INITIAL, FIRST, SECOND)!r}\n" + r"""
import itertools, os, sys
import numpy as np
import kerasae
import kerasae._atomic as atomic

preset, export, stage, fallback = sys.argv[1:5]
model = kerasae.build("ae", input_shape=(8,), latent_dim=2)


def write(value, what):
    model.set_weights([np.full_like(w, value) for w in model.get_weights()])
    if what == "preset":
        kerasae.save_preset(model, preset)
    else:
        kerasae.export(model, export, endpoints=["reconstruct"])


targets = [what for what, path in (("preset", preset), ("export", export)) if path != "-"]
for what in targets:
    write(INITIAL, what)
if stage != "-":
    def crash(where):
        if where == stage:
            os._exit(17)

    atomic._crash_point = crash
if fallback == "1":  # as on a system without RENAME_EXCHANGE
    atomic.exchange = lambda a, b: False
print("ready", flush=True)
for i in itertools.count():
    for what in targets:
        write((FIRST, SECOND)[i % 2], what)
"""

CHECKER = f"NEXT = {NEXT!r}\n" + r"""
import json, os, sys
import numpy as np
import tensorflow as tf
import kerasae

model = kerasae.build("ae", input_shape=(8,), latent_dim=2)
model.set_weights([np.full_like(w, NEXT) for w in model.get_weights()])
report = {}
for target in sys.argv[1:]:
    saved = tf.saved_model.load(target)
    before = saved.signatures["serving_default"](x=tf.ones((1, 8)))["reconstruction"]
    marker = json.loads(open(os.path.join(target, "kerasae-export.json")).read())
    kerasae.export(model, target, endpoints=["reconstruct"])
    after = tf.saved_model.load(target).signatures["serving_default"](x=tf.ones((1, 8)))
    report[target] = {"before": before.numpy().tolist(), "files": sorted(marker["files"]),
                      "present": sorted(os.listdir(target)),
                      "after": after["reconstruction"].numpy().tolist(),
                      "siblings": sorted(os.listdir(os.path.dirname(target)))}
print(json.dumps(report))
"""

# name: (crash stage or "-", fallback to two renames, writes presets, writes exports)
SCENARIOS = {
    "random": ("-", False, True, True),
    "preset_exchanged": ("exchanged", False, True, False),
    "preset_moved_aside": ("moved_aside", True, True, False),
    "export_exchanged": ("exchanged", False, False, True),
}


def tensorflow_env() -> dict[str, str]:
    root = str(Path(kerasae.__file__).parents[1])
    return {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}


def model_with(value: float) -> keras.Model:
    model = kerasae.build("ae", **SHAPE)
    model.set_weights([np.full_like(w, value) for w in model.get_weights()])
    return model


def weight_value(model: keras.Model) -> float:
    """The one value every weight of a version holds (fails on a mixture)."""
    values = {float(v) for w in model.get_weights() for v in np.unique(w)}
    assert len(values) == 1, values
    return values.pop()


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Run every scenario at once (imports overlap), kill the random ones after a random delay
    each, wait for the others to die in their window; then check the exports in one
    TensorFlow subprocess that also writes each export once more."""
    root = tmp_path_factory.mktemp("kill")
    rng = random.Random()
    runs = {}
    for name, (stage, fallback, with_preset, with_export) in SCENARIOS.items():
        (root / name / "p").mkdir(parents=True)
        (root / name / "e").mkdir()
        args = [str(root / name / "p" / "preset") if with_preset else "-",
                str(root / name / "e" / "export") if with_export else "-", stage,
                "1" if fallback else "0"]
        runs[name] = subprocess.Popen([sys.executable, "-c", WRITER, *args],
                                      env=tensorflow_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
    delays = {}
    for name, process in runs.items():
        line = process.stdout.readline()
        if line.strip() != "ready":
            process.kill()
            pytest.fail(f"{name} writer did not start: {process.communicate()[1][-3000:]}")
    for name, process in runs.items():
        if SCENARIOS[name][0] == "-":
            delays[name] = rng.uniform(0.0, 2.5)
            time.sleep(delays[name])
            process.send_signal(signal.SIGKILL)
    codes = {name: process.wait(timeout=120) for name, process in runs.items()}
    for process in runs.values():
        process.stdout.close()
        process.stderr.close()
    exports = [str(root / name / "e" / "export") for name, spec in SCENARIOS.items() if spec[3]]
    listing_before = {name: sorted(p.name for p in (root / name).rglob("*")
                                   if p.parent.name in ("p", "e")) for name in SCENARIOS}
    checked = subprocess.run([sys.executable, "-c", CHECKER, *exports], env=tensorflow_env(),
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stderr[-3000:]
    return {"root": root, "codes": codes, "delays": delays, "listing": listing_before,
            "exports": json.loads(checked.stdout.strip().splitlines()[-1])}


def expected_reconstruction(value: float) -> np.ndarray:
    return model_with(value).reconstruct(np.ones((1, 8), "float32"))


def test_writers_died_where_they_were_meant_to(killed):
    """Fails if a writer was not killed, or did not die in its swap window."""
    for name, (stage, *_) in SCENARIOS.items():
        assert killed["codes"][name] == (-signal.SIGKILL if stage == "-" else 17), name


@pytest.mark.parametrize("name", [n for n, spec in SCENARIOS.items() if spec[2]])
def test_killed_save_preset_leaves_a_whole_preset_and_the_next_save_cleans_up(killed, name):
    """Fails if a preset killed during its save is not the old or the new complete preset
    (hashes checked by load), or if the next save leaves any hidden leftover. On the fallback
    path (no RENAME_EXCHANGE) a kill between the two renames leaves the path missing: the
    next save must put the old preset back and then replace it."""
    folder = killed["root"] / name / "p"
    target = folder / "preset"
    context = f"{name}, killed after {killed['delays'].get(name)} s: {killed['listing'][name]}"
    if name == "preset_moved_aside":
        assert not target.exists(), context
        assert any(n.startswith(".preset.old-") for n in killed["listing"][name]), context
    else:
        value = weight_value(kerasae.load(target, compile=False))
        allowed = {FIRST} if name == "preset_exchanged" else {INITIAL, FIRST, SECOND}
        assert value in allowed, context
    if name == "preset_exchanged":  # died before removing the old folder
        assert any(n.startswith(".preset.tmp-") for n in killed["listing"][name]), context
    kerasae.save_preset(model_with(NEXT), target)
    assert [p.name for p in folder.iterdir()] == ["preset"], context
    assert weight_value(kerasae.load(target, compile=False)) == NEXT


@pytest.mark.parametrize("name", [n for n, spec in SCENARIOS.items() if spec[3]])
def test_killed_export_leaves_a_whole_export_and_the_next_export_cleans_up(killed, name):
    """Fails if a SavedModel killed during its export does not load and serve the old or the
    new weights' reconstruction, holds other files than its marker lists, or if the next
    export leaves a hidden leftover."""
    report = killed["exports"][str(killed["root"] / name / "e" / "export")]
    context = f"{name}, killed after {killed['delays'].get(name)} s: {killed['listing'][name]}"
    allowed = [FIRST] if name == "export_exchanged" else [INITIAL, FIRST, SECOND]
    got = np.array(report["before"])
    assert any(np.allclose(got, expected_reconstruction(v), atol=1e-5) for v in allowed), context
    assert report["present"] == sorted([*report["files"], "kerasae-export.json"]), context
    np.testing.assert_allclose(report["after"], expected_reconstruction(NEXT), atol=1e-5)
    assert report["siblings"] == ["export"], context


def test_export_subprocess_dies_with_its_parent(tmp_path):
    """Fails if the TensorFlow export subprocess (its first lines, as kerasae runs them) goes
    on running after its parent is killed."""
    child = export_module.DIE_WITH_PARENT + "print('armed', os.getpid(), flush=True)\n" \
        "import time\ntime.sleep(120)\n"
    parent_code = ("import os, subprocess, sys, time\n"
                   "subprocess.Popen([sys.executable, '-c', sys.argv[1], str(os.getpid())])\n"
                   "time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", parent_code, child],
                              stdout=subprocess.PIPE, text=True)
    words = parent.stdout.readline().split()
    assert words[:1] == ["armed"], words
    grandchild = int(words[1])
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 20
    while not _owner_gone(tmp_path, grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _owner_gone(tmp_path, grandchild), f"export subprocess {grandchild} still runs"


def test_interrupted_export_kills_its_subprocess(monkeypatch):
    """Fails if an exception (here an interrupt) while waiting for the export subprocess leaves
    the subprocess running."""
    started = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module.subprocess, "Popen", recording_popen)
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        with pytest.raises(KeyboardInterrupt):
            export_module._run_child([sys.executable, "-c", "import time; time.sleep(60)"],
                                     dict(os.environ))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    (process,) = started
    assert process.returncode == -signal.SIGKILL


BARE_WRITER = r"""
import importlib.util, itertools, os, shutil, sys
spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
target, sources = sys.argv[2], sys.argv[3:]
print("ready", flush=True)
for i in itertools.count():
    source = sources[i % len(sources)]
    with atomic.atomic_directory(target, lambda path: True) as tmp:
        for name in os.listdir(source):
            shutil.copyfile(os.path.join(source, name), os.path.join(tmp, name))
"""


def test_presets_swapped_by_randomly_killed_writers_stay_whole(tmp_path):
    """Fails if, after any of ten writers killed at random moments, the preset path does not
    hold one of the presets written there, complete (sha256 checked by load), or if a later
    write leaves leftovers behind."""
    sources = [kerasae.save_preset(model_with(v), tmp_path / f"source_{v}")
               for v in (FIRST, SECOND)]
    folder = tmp_path / "place"
    target = kerasae.save_preset(model_with(INITIAL), folder / "preset")
    rng = random.Random()
    for iteration in range(10):
        writer = subprocess.Popen([sys.executable, "-c", BARE_WRITER, atomic_module.__file__,
                                   str(target), *map(str, sources)],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        delay = rng.uniform(0.0, 0.3)
        time.sleep(delay)
        writer.kill()
        writer.wait()
        writer.stdout.close()
        context = f"iteration {iteration}, killed after {delay:.3f} s: {os.listdir(folder)}"
        assert weight_value(kerasae.load(target, compile=False)) in (INITIAL, FIRST, SECOND), \
            context
    kerasae.save_preset(model_with(NEXT), target)
    assert os.listdir(folder) == ["preset"]
    assert weight_value(kerasae.load(target, compile=False)) == NEXT
