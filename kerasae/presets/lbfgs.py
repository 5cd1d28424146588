"""Full-batch L-BFGS for small kerasae models, the classic optimiser of Ng's sparse autoencoder
notes (minFunc there, scipy's L-BFGS-B here).

The objective is the model's own `compute_loss` (reconstruction + penalties + weight
regularisers), so the result is the model Keras would train, only optimised to convergence.
It minimises in float64: near the plateau where every unit is still alike, float32 loss
values cannot resolve the line search's tiny decreases and L-BFGS stops after a few dozen
iterations. TensorFlow only (tf.GradientTape); for nets with ~10^4 weights. The recipes with
`optimizer="lbfgs"` (kerasae.presets) train with it.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from scipy.optimize import minimize


def lbfgs_train(build: Callable[[], keras.Model], x: np.ndarray, iterations: int,
                log_every: int = 50) -> tuple[keras.Model, dict]:
    """A float32 model from `build()` with the weights that minimise its loss on all of `x`,
    found by L-BFGS on a float64 twin (same builder, same seed); and the final loss terms."""
    if keras.backend.backend() != "tensorflow":
        raise ValueError("L-BFGS training needs the TensorFlow backend (tf.GradientTape); got "
                         f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow.")
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        twin = build()
        logs = lbfgs_fit(twin, x, iterations, log_every)
    finally:
        keras.config.set_floatx(floatx)
    model = build()
    model.set_weights([np.asarray(w, dtype=floatx) for w in twin.get_weights()])
    return model, logs


def lbfgs_fit(model: keras.Model, x: np.ndarray, iterations: int, log_every: int = 50) -> dict:
    """Minimise `model.compute_loss` on all of `x` at once, in the model's own dtype; returns
    the final loss terms."""
    import tensorflow as tf

    x = tf.constant(np.asarray(x, dtype=model.trainable_variables[0].dtype))
    variables = model.trainable_variables
    shapes = [tuple(v.shape) for v in variables]
    sizes = [int(np.prod(s)) for s in shapes]

    def assign(theta: np.ndarray) -> None:
        for variable, part, shape in zip(variables, np.split(theta, np.cumsum(sizes)[:-1]),
                                         shapes, strict=True):
            variable.assign(part.reshape(shape).astype(variable.dtype))

    @tf.function
    def loss_and_gradients():
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y_pred=model(x, training=True))
        return loss, tape.gradient(loss, variables)

    calls = {"n": 0}
    scale = 1.0 / max(float(loss_and_gradients()[0]), 1e-12)  # starting loss 1: scipy's

    def objective(theta):  # stopping tests compare decreases with max(|loss|, 1)
        assign(theta)
        loss, gradients = loss_and_gradients()
        calls["n"] += 1
        if log_every and calls["n"] % log_every == 0:
            print(f"evaluation {calls['n']}: loss {float(loss):.6g}", flush=True)
        flat = np.concatenate([np.asarray(g, dtype="float64").ravel() for g in gradients])
        return float(loss) * scale, flat * scale

    start = np.concatenate([np.asarray(v.numpy(), dtype="float64").ravel() for v in variables])
    result = minimize(objective, start, jac=True, method="L-BFGS-B",
                      options={"maxiter": iterations, "maxcor": 20, "ftol": 1e-15, "gtol": 1e-12})
    assign(result.x)
    for tracker in model.term_trackers:
        tracker.reset_state()
    outputs = model(x, training=False)
    total = float(model.compute_loss(x=x, y_pred=outputs))
    logs = {t.name: float(t.result()) for t in model.term_trackers}
    print(f"L-BFGS: {result.nit} iterations, {calls['n']} evaluations, loss {total:.6g} "
          f"({result.message})", flush=True)
    return {"loss": total, **logs, "iterations": int(result.nit)}
