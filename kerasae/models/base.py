"""What every autoencoder has: `BaseAutoencoder`.

An autoencoder is an encoder, a decoder, an optional corruption of its input, a reconstruction
loss and a list of penalties. Its objective lives in `compute_loss`, which Keras' stock
`train_step` calls on every backend, so the same code trains on TensorFlow, JAX and PyTorch.
The base encodes, reconstructs and scores; decoding codes and sampling are the
`kerasae.models.generative.Generative` mixin's (the masked autoencoder has neither), class
conditioning is `kerasae.models.conditional.Conditional`'s.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any, TypeVar

import keras
import numpy as np
from keras import ops

from kerasae import losses
from kerasae._checks import (
    check_choice,
    check_data,
    check_int,
    check_optional_positive_int,
)
from kerasae._json import plain_json
from kerasae.models import _dispatch, _pipeline
from kerasae.models._guards import FiniteLoss, NonFiniteLossError, restore_after_failure
from kerasae.models._inputs import InputCheck, checked_stream, unpack
from kerasae.models._replicas import multi_worker_logs, scale_loss_for_replicas
from kerasae.penalties import Penalty

_serialize = keras.saving.serialize_keras_object
_deserialize = keras.saving.deserialize_keras_object
_Model = TypeVar("_Model", bound="BaseAutoencoder")


class _Endpoints:
    """Functional models for the endpoints (encode, reconstruct, ...), built once and reused.

    Held in a plain object so Keras does not track them as sub-layers (they share the model's
    layers, and tracking them would save every weight twice).
    """

    def __init__(self):
        self.models: dict[str, keras.Model] = {}


class BaseAutoencoder(keras.Model):
    """Encoder + decoder (+ corruption) trained on reconstruction loss plus penalties.

    Calling the model returns a dict with "decoder_output" (the reconstruction) and "code".
    `encode`, `reconstruct` and `reconstruction_error` take and return numpy arrays. Not
    registered with Keras: the concrete classes are (`kerasae.Autoencoder`,
    `kerasae.models.MaskedAutoencoder`, ...), and `from_config` builds the class it is called on.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        corruption: keras.layers.Layer | None = None,
        penalties: Sequence[Penalty] = (),
        reconstruction_loss: str = "mse",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.corruption = corruption
        self.penalties = list(penalties)
        wrong = [p for p in self.penalties if not isinstance(p, Penalty)]
        if wrong:
            raise ValueError(f"penalties must be kerasae.penalties.Penalty objects; got "
                             f"{[type(p).__name__ for p in wrong]}.")
        if corruption is not None and not isinstance(corruption, keras.layers.Layer):
            raise ValueError(f"corruption must be None or a Keras layer; got "
                             f"{type(corruption).__name__}.")
        self.reconstruction_loss = check_choice(
            reconstruction_loss, losses.RECONSTRUCTION_LOSSES, "reconstruction_loss"
        )
        names = self.loss_term_names() + self.monitored_term_names()
        if len(set(names)) != len(names):
            raise ValueError(f"loss terms must have distinct names; got {names}.")
        self.term_trackers = [keras.metrics.Mean(name=name) for name in names]
        self._endpoints = _Endpoints()
        self.built = True

    # ----- what the model was built from -----------------------------------------------------

    def set_variant_config(self, variant: str, options: dict[str, Any]) -> None:
        """Record that `kerasae.build(variant, **options)` made this model (build does): its
        config is then that alone, and `from_config` rebuilds it through the builder. Options
        must be JSON as json.loads gives it back (lists, not tuples)."""
        self._record_variant(variant, options, graph=False)

    def _record_variant(self, variant: str, options: dict[str, Any], graph: bool) -> None:
        """graph=True: the model was deserialised from the first preset format's whole graph,
        so its weights are laid out by that graph; it keeps serialising as one until
        `kerasae.variants.upgrade` moves its weights into the builder's model."""
        if plain_json(options) != options:
            raise ValueError(f"options must be plain JSON (lists, not tuples); got {options!r}.")
        self.__dict__["_variant_config"] = (str(variant), copy.deepcopy(options), graph)

    @property
    def serialises_graph(self) -> bool:
        """True when get_config holds the whole graph (a hand-built model, or one loaded from
        the first preset format and not upgraded)."""
        config = self.__dict__.get("_variant_config")
        return config is None or config[2]

    @property
    def variant(self) -> str | None:
        """The registered variant that built this model (None for a hand-built one)."""
        config = self.__dict__.get("_variant_config")
        return None if config is None else config[0]

    @property
    def options(self) -> dict[str, Any]:
        """Everything `kerasae.build` resolved: input_shape, latent_dim and every option that
        applies, defaults filled in ({} for a hand-built model)."""
        config = self.__dict__.get("_variant_config")
        return {} if config is None else copy.deepcopy(config[1])

    # ----- shapes -------------------------------------------------------------------------

    @property
    def data_shape(self) -> tuple[int, ...]:
        """Shape of one example, without the batch axis."""
        return tuple(self._encoder_input_shapes()[0][1:])

    @property
    def latent_dim(self) -> int:
        return int(self.decoder.inputs[0].shape[-1])

    def _encoder_input_shapes(self) -> list:
        return [tuple(t.shape) for t in self.encoder.inputs]

    # ----- the objective ------------------------------------------------------------------

    def call(self, inputs, training=False):
        x, condition = self._split(inputs)
        seen = self.corruption(x, training=training) if self.corruption is not None else x
        code = self.encoder(seen, training=training)
        return {"decoder_output": self.decoder(code, training=training), "code": code}

    def loss_term_names(self) -> list[str]:
        """Names of the logged loss terms; `loss` is their sum."""
        return ["reconstruction_loss"] + [p.name for p in self.penalties]

    def monitored_term_names(self) -> list[str]:
        """Names of quantities logged beside the loss terms but not part of the loss."""
        return []

    def loss_terms(self, x, condition, outputs) -> list:
        """The scalar terms of the objective, then the monitored quantities, in the order of
        `loss_term_names() + monitored_term_names()`."""
        recon = ops.mean(self.per_example_reconstruction(x, outputs["decoder_output"]))
        return [recon] + [penalty(self, x, outputs) for penalty in self.penalties]

    def per_example_reconstruction(self, x, decoder_output):
        return losses.reconstruction_error(x, decoder_output, self.reconstruction_loss)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The batch-mean objective, divided by the replica count under tf.distribute.

        Each replica sees its share of the batch and the optimizer sums the replicas' gradients,
        so the 1/replicas scaling makes them the gradient of the global-batch mean; Keras' TF
        train step multiplies the returned value back before logging "loss". The term trackers
        get the unscaled per-replica means, weighted by the replica's batch size (their totals
        are summed over replicas). One device, JAX and PyTorch: no scaling.
        """
        data, condition = self._split(x)
        terms = self.loss_terms(data, condition, y_pred)
        batch = ops.shape(data)[0]
        for tracker, value in zip(self.term_trackers, terms, strict=True):
            tracker.update_state(value, sample_weight=batch)
        total = terms[0]
        for term in terms[1 : len(self.loss_term_names())]:
            total = total + term
        for regularisation in self.losses:  # weight regularisers (kernel_regularizer); a
            total = total + regularisation  # loop, as ops.sum of a list of tracers fails on JAX
        return scale_loss_for_replicas(total)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return multi_worker_logs(super().compute_metrics(x, y, y_pred, sample_weight))

    # The three input hooks below (`_split`, `_with_condition`, `_condition_inputs`) stay on the
    # base although only `kerasae.models.conditional.Conditional` gives them content: `call`,
    # `compute_loss`, the numpy methods and the endpoints that use them are written once here
    # for every model, and `loss_terms(x, condition, outputs)` / `encode(..., condition=None)`
    # are public signatures (the protocols' too). Here they pass the data alone and refuse a
    # condition with a message that names the model.

    def _split(self, inputs):
        """(data, condition) of the model's inputs: x alone here (no condition)."""
        return inputs, None

    # ----- numpy in, numpy out ------------------------------------------------------------

    def encode(self, x, batch_size: int = 256, condition=None) -> np.ndarray:
        """The code of each example (the posterior mean for VAEs)."""
        return self._run("encode", self._inputs_for(x, condition), batch_size)

    def reconstruct(self, x, batch_size: int = 256, condition=None) -> np.ndarray:
        """decode(encode(x)), deterministic: no corruption, no sampling."""
        return self._run("reconstruct", self._inputs_for(x, condition), batch_size)

    def reconstruction_error(self, x, batch_size: int = 256, condition=None) -> np.ndarray:
        """One anomaly score per example, shape (N,): its reconstruction loss term."""
        return self._run("reconstruction_error", self._inputs_for(x, condition), batch_size)

    def _inputs_for(self, x, condition):
        return self._with_condition(self.check_inputs(x), condition)

    def check_inputs(self, x, what: str = "x") -> np.ndarray:
        """x as float32 after checking its shape, finiteness and (for cross-entropy) its range."""
        value_range = (0.0, 1.0) if self._needs_unit_range() else None
        return check_data(x, self.data_shape, what, value_range)

    def _needs_unit_range(self) -> bool:
        return self.reconstruction_loss == "bce"

    def _with_condition(self, array, condition):
        if condition is not None:
            raise ValueError(
                f"{type(self).__name__} ({self.variant or 'custom'}) is not conditional; "
                "got a condition. Call it without condition=..."
            )
        return [array]

    def _run(self, endpoint: str, arrays: list[np.ndarray], batch_size: int):
        """The endpoint on `arrays`, one `predict_on_batch` per slice of `batch_size` rows.

        `predict` builds a data adapter, an iterator and callbacks on every call (~36 ms on
        TensorFlow whatever the size); slicing here keeps a one-example call well under a
        millisecond (benchmarks/RESULTS.md, inference)."""
        model = self.endpoint(endpoint)
        batch_size = check_int(batch_size, "batch_size")
        parts = []
        for start in range(0, max(len(arrays[0]), 1), batch_size):
            batch = [array[start:start + batch_size] for array in arrays]
            parts.append(model.predict_on_batch(batch[0] if len(batch) == 1 else batch))
        outputs: list[np.ndarray] | np.ndarray
        if isinstance(parts[0], (list, tuple)):  # several outputs, e.g. (mean, log_var)
            outputs = [_joined([part[i] for part in parts]) for i in range(len(parts[0]))]
        else:
            outputs = _joined(parts)
        _check_finite_outputs(endpoint, outputs, arrays[0])
        return outputs

    # ----- graphs for the endpoints (also what export serves) -----------------------------

    ENDPOINTS: tuple[str, ...] = ("encode", "reconstruct", "reconstruction_error")

    def endpoint(self, name: str) -> keras.Model:
        """A Functional model serving one of `ENDPOINTS` (what the numpy methods run and what
        export serves), built once and reused."""
        cache = self._endpoints.models
        if name not in cache:
            check_choice(name, self.ENDPOINTS, "endpoint")
            data = self._endpoint_input(name)
            extra, condition = self._condition_inputs()
            outputs = self.endpoint_graph(name, data, condition)
            cache[name] = keras.Model([data, *extra] if extra else data, outputs, name=name)
        return cache[name]

    def _endpoint_input(self, name: str):
        """The symbolic input of endpoint `name`: one example."""
        return keras.Input(self.data_shape, name="x")

    def endpoint_graph(self, name: str, data, condition=None):
        """The symbolic computation behind endpoint `name`."""
        if name == "encode":
            return self.code_graph(data, condition)
        decoded = self.decoder_graph(self.code_graph(data, condition), condition)
        if name == "reconstruct":
            return self.mean_graph(decoded)
        return self.per_example_reconstruction(data, decoded)

    def _condition_inputs(self) -> tuple[list, Any]:
        """(extra endpoint inputs, what the networks are conditioned on): none here; see
        `kerasae.models.conditional.Conditional`."""
        return [], None

    def code_graph(self, x, condition=None):
        """The deterministic code of x (the posterior mean for VAEs)."""
        return self.encoder(x)

    def decoder_graph(self, z, condition=None):
        """The decoder's raw output for z (logits for a Bernoulli VAE)."""
        return self.decoder(z)

    def mean_graph(self, decoder_output):
        """Turn the decoder's raw output into a reconstruction in data space."""
        return decoder_output

    # ----- checks on the Keras entry points ---------------------------------------------

    def input_check(self) -> InputCheck:
        """What `fit`, `evaluate` and `predict` check each input (and each streamed batch) for."""
        value_range = (0.0, 1.0) if self._needs_unit_range() else None
        return InputCheck(self.data_shape, value_range, None, self.variant or type(self).__name__)

    def compile(self, *args, steps_per_execution: int | None = None, **kwargs) -> None:
        """Keras' compile; `steps_per_execution` defaults to 8 on TensorFlow (same results,
        batch-level callbacks called every 8 steps; see kerasae.models._dispatch), 1 elsewhere
        and under a tf.distribute strategy.
        Pass steps_per_execution=1 for Keras' behaviour."""
        self._default_steps_per_execution = steps_per_execution is None
        super().compile(*args, steps_per_execution=steps_per_execution
                        or _dispatch.default_steps_per_execution(self), **kwargs)

    def get_compile_config(self) -> dict | None:
        """Keras' compile config, without kerasae's default steps_per_execution (a file
        saved on TensorFlow must load on torch, where only 1 is allowed)."""
        return _dispatch.user_compile_config(self, super().get_compile_config())

    def compile_from_config(self, config: dict) -> None:
        """Compile a loaded model (Keras skips it for models that override compile())."""
        _dispatch.compile_from_config(self, config)

    def fit(self, x=None, y=None, *args, **kwargs):
        """Keras' fit, with the data (numpy or streamed) checked like the numpy methods' and
        a non-finite loss stopping training (see `kerasae.models._guards`)."""
        call = _bind(super().fit, x, y, *args, **kwargs)
        arguments, check = call.arguments, self.input_check()
        _check_counts(arguments, ("batch_size", "steps_per_epoch", "validation_batch_size",
                                  "validation_steps"))
        _dispatch.match_step_counts(self, arguments.get("steps_per_epoch"),
                                    arguments.get("validation_steps"))
        epochs = arguments.get("epochs", 1)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer; got {epochs!r}.")
        arguments["x"], arguments["y"] = _checked(arguments.get("x"), arguments.get("y"), check)
        if arguments.get("validation_data") is not None:
            arguments["validation_data"] = _checked_validation(arguments["validation_data"],
                                                               check)
        self._before_training()
        guard = FiniteLoss()
        callbacks = arguments.get("callbacks")
        if not isinstance(callbacks, keras.callbacks.CallbackList):
            arguments["callbacks"] = [*(callbacks or []), guard]
        return self._guarded(super().fit, call, check, guard)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        call = _bind(super().evaluate, x, y, *args, **kwargs)
        if call.arguments.get("kwargs", {}).get("_use_cached_eval_dataset"):
            return super().evaluate(*call.args, **call.kwargs)  # fit's validation, checked
        check = self.input_check()
        _check_counts(call.arguments, ("batch_size", "steps"))
        _dispatch.match_step_counts(self, call.arguments.get("steps"))
        call.arguments["x"], call.arguments["y"] = _checked(call.arguments.get("x"),
                                                            call.arguments.get("y"), check)
        return self._guarded(super().evaluate, call, check)

    def predict(self, x, *args, **kwargs):
        call = _bind(super().predict, x, *args, **kwargs)
        check = self.input_check()
        _check_counts(call.arguments, ("batch_size", "steps"))
        _dispatch.match_step_counts(self, call.arguments.get("steps"))
        call.arguments["x"] = _checked(call.arguments.get("x"), None, check)[0]
        return self._guarded(super().predict, call, check)

    def _before_training(self) -> None:
        """Called by `fit` once its arguments are checked, before the first step: nothing here
        (`Generative` drops its code sampler, which training makes stale)."""

    def _guarded(self, method, call, check: InputCheck, guard: FiniteLoss | None = None):
        """Run a Keras entry point so that a failure leaves the model usable and says what
        went wrong in the user's terms."""
        with restore_after_failure(self), _pipeline.steady_array_pipeline():
            try:
                return method(*call.args, **call.kwargs)
            except NonFiniteLossError:
                if guard is not None:
                    guard.restore()
                raise
            except Exception as error:
                # A check raised inside tf.data or Keras' generator adapter comes out as a
                # tensorflow error; give the user the ValueError it was.
                if check.slot.error is not None and error is not check.slot.error:
                    raise check.slot.error from None
                raise

    # ----- serialisation ------------------------------------------------------------------

    def get_config(self) -> dict:
        """A model made by `kerasae.build`: its variant and options alone (from_config rebuilds
        it through the builder). A hand-built one: its networks' whole graphs and its
        objective. JSON-exact either way (a json round trip gives an equal dict)."""
        config = {"name": self.name, "trainable": self.trainable}
        built_from = self.__dict__.get("_variant_config")
        if built_from is not None:
            config.update(variant=built_from[0], options=copy.deepcopy(built_from[1]))
        if not self.serialises_graph:
            return config
        return plain_json({**config, "encoder": _serialize(self.encoder),
                           "decoder": _serialize(self.decoder), **self.objective_config()})

    def objective_config(self) -> dict:
        """The constructor arguments besides the networks (each class lists its own)."""
        return {
            "corruption": _serialize(self.corruption) if self.corruption is not None else None,
            "penalties": [_serialize(p) for p in self.penalties],
            "reconstruction_loss": self.reconstruction_loss,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = copy.deepcopy(config)  # Keras' deserialisation empties the nested dicts it reads
        variant, options = config.pop("variant", None), config.pop("options", None)
        name, trainable = config.pop("name", None), config.pop("trainable", True)
        # Late imports: the registry sits above the models (it imports the builders).
        if variant is not None and "encoder" not in config:
            from kerasae.variants import rebuild

            model = rebuild(variant, options or {})
        else:
            for key in ("encoder", "decoder", "corruption"):
                if config.get(key) is not None:
                    config[key] = _deserialize(config[key])
            if "penalties" in config:
                config["penalties"] = [_deserialize(p) for p in config["penalties"]]
            model = cls(**config)
            if variant is not None:  # the first preset format: the graph, plus its variant
                from kerasae.variants import legacy_options

                model._record_variant(variant, legacy_options(variant, options or {}),
                                      graph=True)
        if name is not None:
            model.name = name
        model.trainable = trainable
        return model

    @classmethod
    def from_preset(cls: type[_Model], handle: Any, compile: bool = True) -> _Model:
        """`kerasae.load(handle, compile=compile)` (a preset name, preset folder or 'hf://...'),
        as keras-hub spells it; a preset that is not a `cls` is a ValueError naming the class
        to use (e.g. `Autoencoder.from_preset("masked_ae_mnist")`: use MaskedAutoencoder)."""
        from kerasae.hub import load  # the hub imports the models: import it on first use

        model = load(handle, compile=compile)
        if not isinstance(model, cls):
            article = "an" if cls.__name__[0] in "AEIOU" else "a"
            raise ValueError(f"{cls.__name__}.from_preset({handle!r}): expected {article} "
                             f"{cls.__name__}; "
                             f"the preset holds a {type(model).__name__} (variant "
                             f"{getattr(model, 'variant', None)!r}). Use kerasae.load({handle!r}) "
                             f"or {type(model).__name__}.from_preset.")
        return model

def _bind(method, *args, **kwargs) -> inspect.BoundArguments:
    """The call's arguments by name, whether they came by position or keyword."""
    call = inspect.signature(method).bind(*args, **kwargs)
    call.apply_defaults()
    return call


def _check_counts(arguments: dict, names: Sequence[str]) -> None:
    for name in names:
        check_optional_positive_int(arguments.get(name), name)


def _is_unchecked_stream(x) -> bool:
    """Inputs passed to Keras unchecked: distributed datasets and Keras data adapters."""
    names = {c.__name__ for c in type(x).__mro__}
    return bool(names & {"DistributedDataset", "DistributedDatasetsFromFunction",
                         "DataAdapter"})


def _checked(x, y, check: InputCheck, what: str = "x"):
    """(x, y) for Keras: arrays checked whole, streams wrapped so each batch is checked."""
    stream = checked_stream(x, check, what)
    if stream is not None or _is_unchecked_stream(x):
        check._refuse_targets(y)
        return (x if stream is None else stream), None
    return check.inputs(x, y, what), None


def _checked_validation(data, check: InputCheck):
    """fit's validation_data, checked like x: an array, a stream or a Keras tuple."""
    stream = checked_stream(data, check, "validation_data")
    if stream is not None or _is_unchecked_stream(data):
        return data if stream is None else stream
    if isinstance(data, list):
        data = tuple(data)
    x, y, weights = unpack(data)
    inputs = check.inputs(x, y, "validation_data")
    return (inputs,) if weights is None else (inputs, None, weights)


def _check_finite_outputs(endpoint: str, outputs, inputs: np.ndarray) -> None:
    """Finite inputs can still overflow float32 inside the network (|x| ~ 1e38): say so
    rather than return inf or NaN."""
    for output in outputs if isinstance(outputs, list) else [outputs]:
        finite = np.isfinite(output)
        if not finite.all():
            bad = int(finite.size - np.count_nonzero(finite))
            raise ValueError(
                f"{endpoint} gave {bad} NaN or infinite values for finite inputs: they overflow "
                f"float32 inside the network (largest |input| {float(np.abs(inputs).max()):.3g})."
                " Scale the data, e.g. standardise it or map it to [0, 1]."
            )


def _joined(parts: list) -> np.ndarray:
    joined = np.asarray(parts[0]) if len(parts) == 1 else np.concatenate(parts)
    # Under a mixed-precision policy some outputs come in float16/bfloat16: hand out float32.
    return joined.astype(np.float32) if joined.dtype.name in ("float16", "bfloat16") else joined
