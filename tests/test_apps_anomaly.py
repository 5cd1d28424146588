"""kerasae.apps.anomaly: thresholds fitted on normal data, normalised scores, per-time-step scores
of a series, and the errors for bad input.

Exact behaviour (quantiles, aggregation over windows) is checked with a stand-in model whose
scores are known; one tiny trained autoencoder checks that the pieces detect real anomalies.
Runs once per backend on synthetic data only.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerasae
from kerasae.apps import AnomalyDetector, SeriesAnomalyDetector, SeriesScaler

WINDOW = 16


class NormModel:
    """Stand-in with the one method the detectors use: score = Euclidean norm of each example."""

    def __init__(self, data_shape=(4,)):
        self.data_shape = tuple(data_shape)

    def reconstruction_error(self, x, batch_size=256, condition=None):
        x = np.asarray(x, dtype="float64")
        return np.sqrt(np.sum(x.reshape(len(x), -1) ** 2, axis=1))


def manifold_data(n: int, seed: int) -> np.ndarray:
    """8-D points near a 2-D plane: what an autoencoder with a 2-D code can learn."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(100).normal(size=(2, 8)) / 2
    return (rng.normal(size=(n, 2)) @ basis + 0.02 * rng.normal(size=(n, 8))).astype("float32")


def periodic_series(steps: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    return (np.sin(2 * np.pi * t / 12) + 0.05 * rng.normal(size=steps)).astype("float32")


@pytest.fixture(scope="module")
def vector_model():
    keras.utils.set_random_seed(0)
    model = kerasae.build("ae", input_shape=(8,), latent_dim=2, hidden_units=(16,))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(manifold_data(512, seed=0), epochs=20, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def series_setup():
    """A model trained on windows of the first 600 steps of a periodic series, and its scaler."""
    keras.utils.set_random_seed(0)
    train = periodic_series(600, seed=1)
    scaler = SeriesScaler().fit(train)
    model = kerasae.build("ae", input_shape=(WINDOW,), latent_dim=3, hidden_units=(32,))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    windows = SeriesAnomalyDetector(model, scaler=scaler).windows(train)
    model.fit(windows, epochs=15, batch_size=64, verbose=0)
    return model, scaler, train


# ----- thresholds and score scales ----------------------------------------------------------


@pytest.mark.parametrize("contamination", [0.01, 0.05, 0.2, 0.5])
def test_threshold_flags_the_contamination_rate_of_training_data(contamination):
    x = np.random.default_rng(0).normal(size=(1000, 4))
    detector = AnomalyDetector(NormModel(), contamination=contamination).fit(x)
    assert abs(detector.predict(x).mean() - contamination) <= 1 / len(x)
    scores = detector.score(x)
    np.testing.assert_allclose(scores, NormModel().reconstruction_error(x))
    np.testing.assert_allclose(detector.threshold_, np.quantile(scores, 1 - contamination))


def test_normalized_scores_follow_the_lecture_formula():
    x = np.random.default_rng(1).normal(size=(400, 4)) + 1.0
    detector = AnomalyDetector(NormModel(), contamination=0.05, method="normalized").fit(x)
    raw = NormModel().reconstruction_error(x)
    scores = detector.score(x)
    np.testing.assert_allclose(scores, (raw - raw.min()) / raw.max())
    assert scores.min() == 0.0 and scores.max() < 1.0
    # the quantile threshold on S flags exactly what the raw-score threshold flags
    plain = AnomalyDetector(NormModel(), contamination=0.05).fit(x)
    np.testing.assert_array_equal(detector.predict(x), plain.predict(x))
    assert 0.0 <= detector.threshold_ <= 1.0
    # far anomalies are not clipped: they score above 1
    assert detector.score(x * 10).max() > 1.0


def test_normalized_user_threshold_is_used_as_given():
    x = np.random.default_rng(2).normal(size=(200, 4))
    detector = AnomalyDetector(NormModel(), method="normalized", threshold=0.5).fit(x)
    assert detector.threshold_ == 0.5
    np.testing.assert_array_equal(detector.predict(x), detector.score(x) >= 0.5)
    none = AnomalyDetector(NormModel(), contamination=None, method="normalized", threshold=0.0)
    assert none.fit(x).predict(x).all()


def test_report_matches_predict():
    rng = np.random.default_rng(3)
    normal = rng.normal(size=(300, 4))
    test = np.concatenate([rng.normal(size=(90, 4)), rng.normal(size=(10, 4)) + 4.0])
    labels = np.r_[np.zeros(90), np.ones(10)]
    detector = AnomalyDetector(NormModel(), contamination=0.05).fit(normal)
    report = detector.report(test, labels)
    flagged = detector.predict(test)
    hits = np.sum(flagged & (labels == 1))
    assert set(report) == {"auroc", "precision", "recall", "f1", "threshold", "flagged_fraction"}
    assert report["precision"] == pytest.approx(hits / flagged.sum())
    assert report["recall"] == pytest.approx(hits / 10)
    assert report["flagged_fraction"] == pytest.approx(flagged.mean())
    assert report["threshold"] == detector.threshold_
    assert report["auroc"] > 0.95


# ----- a trained autoencoder ----------------------------------------------------------------


def test_trained_autoencoder_separates_shifted_anomalies(vector_model):
    normal = manifold_data(512, seed=0)
    detector = AnomalyDetector(vector_model, contamination=0.05).fit(normal)
    assert abs(detector.predict(normal).mean() - 0.05) <= 1 / len(normal)
    held_out = manifold_data(200, seed=5)
    shift = np.random.default_rng(6).normal(size=(50, 8)).astype("float32")
    anomalies = manifold_data(50, seed=7) + 0.5 * shift
    x = np.concatenate([held_out, anomalies])
    labels = np.r_[np.zeros(200), np.ones(50)]
    for method in ("contamination", "normalized"):
        detector = AnomalyDetector(vector_model, contamination=0.05, method=method).fit(normal)
        report = detector.report(x, labels)
        assert report["auroc"] > 0.9, (method, report)
        assert report["recall"] > 0.8, (method, report)


# ----- series --------------------------------------------------------------------------------


def test_per_step_aggregation_matches_a_loop():
    series = np.random.default_rng(4).normal(size=(50, 2))
    model = NormModel(data_shape=(6, 2))
    for stride in (1, 4):
        for aggregate, reduce in (("mean", np.mean), ("max", np.max)):
            detector = SeriesAnomalyDetector(model, stride=stride, aggregate=aggregate).fit(series)
            starts = sorted(set(range(0, 45, stride)) | {44})  # plus the window ending at 49
            window_scores = {s: np.linalg.norm(series[s : s + 6]) for s in starts}
            expected = [reduce([v for s, v in window_scores.items() if s <= t < s + 6])
                        for t in range(50)]
            np.testing.assert_allclose(detector.score(series), expected)


def test_series_scaler_uses_training_statistics_only():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = SeriesScaler().fit(train)
    np.testing.assert_allclose(scaler.transform(train), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(scaler.transform([[5.0, 6.0]]), [[3.0, 1.0]])
    minmax = SeriesScaler("minmax").fit(np.array([2.0, 4.0, 6.0]))
    np.testing.assert_allclose(minmax.transform(np.array([2.0, 6.0, 10.0])), [0.0, 1.0, 2.0])
    assert minmax.transform(np.array([2.0, 6.0])).shape == (2,)


def test_series_scores_peak_at_an_injected_anomaly(series_setup):
    model, scaler, train = series_setup
    detector = SeriesAnomalyDetector(model, contamination=0.01, scaler=scaler).fit(train)
    assert abs(detector.predict(train).mean() - 0.01) <= 1 / len(train)
    series = periodic_series(1000, seed=1)
    series[:600] = train
    series[800] += 3.0  # a spike
    scores = detector.score(series)
    assert scores.shape == (1000,)
    assert abs(int(np.argmax(scores)) - 800) <= 2
    labels = np.zeros(1000)
    labels[795:806] = 1
    report = detector.report(series, labels)
    assert report["auroc"] > 0.9 and report["recall"] > 0.5, report
    assert detector.predict(series)[800]


def test_series_detector_windows_match_the_model_shape(series_setup):
    model, scaler, train = series_setup
    scaled = scaler.transform(train)
    windows = SeriesAnomalyDetector(model, scaler=scaler, stride=5).windows(train)
    # starts 0, 5, ..., 580, then 584 so that the last window ends at the last step
    assert windows.shape == (len(range(0, 600 - WINDOW + 1, 5)) + 1, WINDOW)
    assert windows.dtype == np.float32
    np.testing.assert_allclose(windows[1], scaled[5 : 5 + WINDOW], rtol=1e-6)
    np.testing.assert_allclose(windows[-1], scaled[-WINDOW:], rtol=1e-6)
    assert len(SeriesAnomalyDetector(model, stride=4).windows(train)) == 584 // 4 + 1


# ----- errors --------------------------------------------------------------------------------


def test_predict_before_fit_is_refused():
    detector = AnomalyDetector(NormModel())
    for call in (lambda: detector.predict(np.zeros((2, 4))), lambda: detector.score(np.zeros(
            (2, 4))), lambda: detector.report(np.zeros((2, 4)), [0, 1])):
        with pytest.raises(RuntimeError, match="not fitted"):
            call()
    with pytest.raises(RuntimeError, match="not fitted"):
        SeriesAnomalyDetector(NormModel((3,))).predict(np.zeros(10))
    with pytest.raises(RuntimeError, match="not fitted"):
        SeriesScaler().transform(np.zeros(3))


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 0.51, 1, "0.1", True, float("nan")])
def test_contamination_outside_range_is_refused(bad):
    with pytest.raises(ValueError, match=r"contamination .*\(0, 0.5\]; got"):
        AnomalyDetector(NormModel(), contamination=bad)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        AnomalyDetector(NormModel(), method="zscore")
    with pytest.raises(ValueError, match="threshold=None"):
        AnomalyDetector(NormModel(), threshold=0.5)
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0.0, 1.0\]"):
        AnomalyDetector(NormModel(), method="normalized", threshold=1.5)
    with pytest.raises(ValueError, match="contamination=None"):
        AnomalyDetector(NormModel(), contamination=None)
    with pytest.raises(TypeError, match="reconstruction_error"):
        AnomalyDetector(object())
    with pytest.raises(ValueError, match="aggregate must be one of"):
        SeriesAnomalyDetector(NormModel((3,)), aggregate="median")
    with pytest.raises(ValueError, match=r"stride must be an integer in \[1, 3\]"):
        SeriesAnomalyDetector(NormModel((3,)), stride=4)
    with pytest.raises(TypeError, match="data_shape"):
        SeriesAnomalyDetector(type("Scores", (), {"reconstruction_error": len})())
    with pytest.raises(ValueError, match="kind must be one of"):
        SeriesScaler("robust")


def test_bad_data_is_refused():
    detector = AnomalyDetector(NormModel(), contamination=0.1).fit(np.ones((10, 4)) + np.arange(
        10)[:, None])
    with pytest.raises(ValueError, match="labels must have 3 entries, one per score; got 2"):
        detector.report(np.zeros((3, 4)), [0, 1])
    with pytest.raises(ValueError, match="labels must hold 0"):
        detector.report(np.zeros((2, 4)), [0, 2])
    series = SeriesAnomalyDetector(NormModel((5, 2)))
    with pytest.raises(ValueError, match="series has 3 time steps; .* at least 5"):
        series.fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"2 feature\(s\) per time step; got shape \(20, 3\)"):
        series.fit(np.zeros((20, 3)))
    with pytest.raises(ValueError, match="NaN"):
        series.fit(np.full((20, 2), np.nan))
    fitted = SeriesAnomalyDetector(NormModel((5, 2))).fit(np.random.default_rng(0).normal(
        size=(20, 2)))
    with pytest.raises(ValueError, match="labels must have 20 entries"):
        fitted.report(np.zeros((20, 2)), np.zeros(19))


def test_normalized_needs_positive_training_scores():
    class Negative(NormModel):
        def reconstruction_error(self, x, batch_size=256, condition=None):
            return -super().reconstruction_error(x) - 1.0

    with pytest.raises(ValueError, match="must be positive"):
        AnomalyDetector(Negative(), method="normalized").fit(np.ones((5, 4)))
    # the raw-score method has no such need
    AnomalyDetector(Negative()).fit(np.ones((5, 4)))
