"""Anomaly detection from reconstruction error: a threshold fitted on normal data only, and
per-time-step scores for a series cut into sliding windows.

Only `model.reconstruction_error` is called (plus `model.data_shape` for series): the model is
any `kerasae.protocols.Scores`, every variant of the zoo and any object with that method.
Conventions as in kerasae.metrics: a higher score is more anomalous, label 1 is an anomaly, and
a score at or above the threshold is flagged (the rule `kerasae.metrics.precision_recall_at`
uses, so `report` matches `predict`).

    detector = AnomalyDetector(model, contamination=0.05).fit(x_normal)
    detector.predict(x)           # bool per example
    detector.report(x, labels)    # auroc, precision, recall, f1, threshold, flagged_fraction
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from kerasae._checks import binary_labels, check_choice, check_int, check_range, numbers
from kerasae.data.nab import sliding_windows
from kerasae.metrics.anomaly import auroc, precision_recall_at
from kerasae.protocols import Scores, condition_kwargs

METHODS = ("contamination", "normalized")
AGGREGATES = ("mean", "max")
SCALINGS = ("standard", "minmax")


class _Thresholded:
    """The threshold and score scale shared by both detectors; subclasses supply raw scores."""

    def __init__(self, contamination: float | None, method: str, threshold: float | None):
        self.method = check_choice(method, METHODS, "method")
        self.contamination = None if contamination is None else check_range(
            contamination, 0, 0.5, "contamination (the expected fraction of anomalies)",
            open_low=True)
        if threshold is not None:
            if self.method == "contamination":
                raise ValueError(
                    "method='contamination' sets the threshold from the training scores; pass "
                    "threshold=None, or method='normalized' with a threshold in [0, 1]; got "
                    f"threshold={threshold!r}."
                )
            threshold = check_range(threshold, 0.0, 1.0, "threshold")
        elif self.contamination is None:
            raise ValueError(
                "contamination=None leaves no way to set the threshold: give a contamination in "
                "(0, 0.5], or method='normalized' with a threshold in [0, 1]."
            )
        self.threshold = threshold
        self.threshold_: float | None = None

    def _fit_raw(self, raw: np.ndarray):
        """Keep the training scores' range and set the threshold on the scale `score` returns."""
        self.training_scores_ = raw
        self.score_min_, self.score_max_ = float(raw.min()), float(raw.max())
        if self.method == "normalized" and not self.score_max_ > 0:
            raise ValueError(
                "method='normalized' divides by the largest training score, which must be "
                f"positive; got max {self.score_max_:g} (e.g. a Gaussian negative log-likelihood "
                "can be negative). Use method='contamination'."
            )
        if self.threshold is not None:
            self.threshold_ = self.threshold
        else:
            # __init__ refuses threshold=None together with contamination=None
            quantile = np.quantile(self._rescale(raw), 1.0 - cast(float, self.contamination))
            self.threshold_ = float(quantile)
        return self

    def _rescale(self, raw: np.ndarray) -> np.ndarray:
        """Raw scores, or S = (R - R_min) / R_max with R_min, R_max from the training scores.

        S lies in [0, 1) on the training data; it is not clipped elsewhere, so how far an
        anomaly lies beyond the training range still shows (and still ranks) above 1.
        """
        if self.method == "contamination":
            return raw
        return (raw - self.score_min_) / self.score_max_

    def _check_fitted(self) -> None:
        if self.threshold_ is None:
            raise RuntimeError(
                f"{type(self).__name__} is not fitted: call fit(...) on normal data first; it "
                "sets the score scale and the threshold."
            )

    def _report(self, scores: np.ndarray, labels: Any) -> dict:
        positive = binary_labels(labels, "labels", len(scores))
        counts = precision_recall_at(scores, positive, cast(float, self.threshold_))  # fitted
        return {
            "auroc": auroc(scores, positive),
            "precision": counts["precision"],
            "recall": counts["recall"],
            "f1": counts["f1"],
            "threshold": self.threshold_,
            "flagged_fraction": counts["flagged"] / len(scores),
        }


class AnomalyDetector(_Thresholded):
    """Flags examples whose reconstruction error is unusually high for the normal data.

    The model should be trained on normal data only; `fit(x_normal)` then scores that data to
    set the threshold, so no anomalous examples are needed to choose it.

    method="contamination": scores are the raw reconstruction errors R and the threshold is the
    (1 - contamination) quantile of the training scores, so that fraction of the training data
    is flagged (ties aside, to within one example).
    method="normalized": scores are S = (R - R_min) / R_max, R_min and R_max taken from the
    training scores, a scale-free score in [0, 1) on the training data. The threshold is
    `threshold` when given (any value in [0, 1]; contamination is then unused), else the
    (1 - contamination) quantile of the training S, which flags the same examples as
    method="contamination" on a comparable scale.
    """

    def __init__(
        self,
        model: Scores,
        contamination: float | None = 0.01,
        method: str = "contamination",
        threshold: float | None = None,
    ):
        self.model = _check_model(model)
        super().__init__(contamination, method, threshold)

    def fit(self, x_normal: Any, condition: Any = None) -> AnomalyDetector:
        """Score normal data (`condition`: the labels of a conditional model) and set the
        threshold from those scores."""
        return self._fit_raw(self._raw_scores(x_normal, condition))

    def score(self, x: Any, condition: Any = None) -> np.ndarray:
        """One score per example, (N,) float64, on the scale `method` names."""
        self._check_fitted()
        return self._rescale(self._raw_scores(x, condition))

    def predict(self, x: Any, condition: Any = None) -> np.ndarray:
        """True where the score is at or above the threshold, (N,) bool."""
        return self.score(x, condition) >= self.threshold_

    def report(self, x: Any, labels: Any, condition: Any = None) -> dict:
        """AUROC (threshold-free) and precision, recall, F1 and the flagged fraction at the
        fitted threshold, against 0/1 labels (1 = anomaly); labels need both classes."""
        return self._report(self.score(x, condition), labels)

    def _raw_scores(self, x: Any, condition: Any) -> np.ndarray:
        return _score_vector(self.model.reconstruction_error(x, **condition_kwargs(condition)))


class SeriesScaler:
    """Per-feature scaling of a series, fitted on its training (normal) part only.

    Statistics of the whole series would let the anomalies shift the scale the model sees.
    kind="standard": (v - mean) / std; kind="minmax": (v - min) / (max - min), which maps the
    training part to [0, 1] (later values may fall outside). A constant feature is only shifted.
    """

    def __init__(self, kind: str = "standard"):
        self.kind = check_choice(kind, SCALINGS, "kind")
        self.center_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, series: Any) -> SeriesScaler:
        """Learn the per-feature centre and scale of a (T,) or (T, F) series."""
        values = _as_series(series, "series")
        if self.kind == "standard":
            center, spread = values.mean(axis=0), values.std(axis=0)
        else:
            center, spread = values.min(axis=0), np.ptp(values, axis=0)
        self.center_, self.scale_ = center, np.where(spread > 0, spread, 1.0)
        return self

    def transform(self, series: Any) -> np.ndarray:
        """The series scaled with the fitted statistics, same shape, float32."""
        if self.center_ is None:
            raise RuntimeError("SeriesScaler is not fitted: call fit(training_series) first.")
        values = _as_series(series, "series", features=len(self.center_))
        scaled = (values - self.center_) / self.scale_
        return scaled.reshape(np.shape(series)).astype("float32")


class SeriesAnomalyDetector(_Thresholded):
    """Per-time-step anomaly scores for a (T,) or (T, F) series.

    The series is cut into windows of the model's input length (`model.data_shape[0]` steps,
    `model.data_shape` e.g. (W,), (W, 1) or (W, F)) every `stride` steps, plus one window ending
    at the last step so every step is covered. A step's score aggregates the scores of the
    windows covering it: "mean" (default) peaks where an anomaly sits, since only the windows
    through it score high, and it fades over the window length on either side; "max" spreads
    one bad window's score evenly over all of its steps, and these plateaus of tied scores can
    make the flagged fraction of the training steps exceed the contamination rate.

    `scaler`: the fitted `SeriesScaler` the model's training windows were scaled with (`windows`
    applies it), or None for a series used as it is. Thresholds (`method`, `contamination`,
    `threshold`) are as in `AnomalyDetector`, computed over the training series' time steps.
    """

    def __init__(
        self,
        model: Scores,
        contamination: float | None = 0.01,
        method: str = "contamination",
        threshold: float | None = None,
        *,
        scaler: SeriesScaler | None = None,
        stride: int = 1,
        aggregate: str = "mean",
    ):
        self.model = _check_model(model)
        super().__init__(contamination, method, threshold)
        self.data_shape = _window_shape(model)
        self.window = self.data_shape[0]
        self.stride = check_int(stride, "stride", maximum=self.window)  # every step in a window
        self.aggregate = check_choice(aggregate, AGGREGATES, "aggregate")
        if scaler is not None and not isinstance(scaler, SeriesScaler):
            raise TypeError(f"scaler must be a fitted SeriesScaler or None; got {scaler!r}.")
        self.scaler = scaler

    def windows(self, series: Any) -> np.ndarray:
        """The scaled windows the model sees, (N, *model.data_shape) float32: train the model on
        `windows(normal_series)`."""
        return self._windows(series)[1]

    def fit(self, series: Any) -> SeriesAnomalyDetector:
        """Score a normal series per time step and set the threshold from those scores."""
        return self._fit_raw(self._raw_scores(series))

    def score(self, series: Any) -> np.ndarray:
        """One score per time step, (T,) float64, on the scale `method` names."""
        self._check_fitted()
        return self._rescale(self._raw_scores(series))

    def predict(self, series: Any) -> np.ndarray:
        """True at the time steps whose score is at or above the threshold, (T,) bool."""
        return self.score(series) >= self.threshold_

    def report(self, series: Any, labels: Any) -> dict:
        """As `AnomalyDetector.report`, per time step: `labels` has one 0/1 entry per step."""
        return self._report(self.score(series), labels)

    def _windows(self, series: Any) -> tuple[np.ndarray, np.ndarray, int]:
        """(window starts, windows shaped for the model, series length)."""
        features = math.prod(self.data_shape[1:])
        values = _as_series(series, "series", features=features)
        steps = len(values)
        if steps < self.window:
            raise ValueError(
                f"series has {steps} time steps; the model's windows need at least {self.window} "
                f"(model.data_shape[0] of {self.data_shape})."
            )
        if self.scaler is not None:
            values = self.scaler.transform(values)
        starts = np.unique(np.append(np.arange(0, steps - self.window + 1, self.stride),
                                     steps - self.window))
        cut = sliding_windows(values.astype("float32"), self.window)[starts]
        return starts, cut.reshape((len(starts), *self.data_shape)), steps

    def _raw_scores(self, series: Any) -> np.ndarray:
        starts, cut, steps = self._windows(series)
        scores = _score_vector(self.model.reconstruction_error(cut), expected=len(starts))
        return _per_step(scores, starts, self.window, steps, self.aggregate)


def _per_step(scores: np.ndarray, starts: np.ndarray, window: int, steps: int,
              aggregate: str) -> np.ndarray:
    """Aggregate window scores onto the steps each window covers, without a loop over steps."""
    if aggregate == "mean":
        ends = starts + window
        totals = np.cumsum(np.bincount(starts, scores, steps + 1)
                           - np.bincount(ends, scores, steps + 1))[:steps]
        counts = np.cumsum(np.bincount(starts, minlength=steps + 1)
                           - np.bincount(ends, minlength=steps + 1))[:steps]
        return totals / counts
    at_start = np.full(steps + window - 1, -np.inf)
    at_start[starts + window - 1] = scores  # left-padded so step t sees starts t-window+1 .. t
    return np.lib.stride_tricks.sliding_window_view(at_start, window).max(axis=1)


def _check_model(model: Any) -> Scores:
    if not isinstance(model, Scores):
        raise TypeError(
            "model must have a reconstruction_error(x) method returning one score per example "
            f"(any kerasae model has one); got {type(model).__name__}."
        )
    return model


def _window_shape(model: Scores) -> tuple[int, ...]:
    shape = getattr(model, "data_shape", None)
    if not isinstance(shape, tuple) or not shape:
        raise TypeError(
            "SeriesAnomalyDetector needs model.data_shape, e.g. (W,) or (W, features), to cut "
            f"windows of W steps; got {shape!r}."
        )
    return shape


def _as_series(value: Any, what: str, features: int | None = None) -> np.ndarray:
    """A finite (T,) or (T, F) series as float64 (T, F), checked against `features`."""
    values = numbers(value, what)
    if values.ndim not in (1, 2):
        raise ValueError(f"{what} must be a (T,) or (T, features) array; got shape {values.shape}.")
    values = values.reshape(len(values), -1)
    if features is not None and values.shape[1] != features:
        raise ValueError(
            f"{what} must have {features} feature(s) per time step; got shape {np.shape(value)}."
        )
    return values


def _score_vector(value: Any, expected: int | None = None) -> np.ndarray:
    scores = numbers(value, "model.reconstruction_error(x)", ndim=1)
    if expected is not None and len(scores) != expected:
        raise ValueError(
            f"model.reconstruction_error returned {len(scores)} scores for {expected} windows."
        )
    return scores
