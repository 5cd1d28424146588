"""Per-time-step anomaly detection on NAB series with a small dense autoencoder.

    KERAS_BACKEND=tensorflow python scripts/nab_anomaly.py [--series KEY ...] [--out PATH]

For each series, NAB style: the model and the scaler see only the probationary period (the first
min(15% of the series, 750) steps, as NAB's getProbationPeriod; no labelled anomaly lies in it
for any NAB series), the threshold is the (1 - contamination) quantile of the per-step scores of
that period, and the steps after it are scored against NAB's labelled anomaly windows (every
step inside a window counts as anomalous). This is point-wise AUROC / precision / recall, not
NAB's own windowed score. `baseline_auroc` ranks steps by |standardised value|, to show what
the autoencoder adds over flagging unusual values.

Data: --data, else $KERASAE_DATA_DIR/nab, else ../shared/data/nab beside this checkout.
Writes JSON to --out (default outputs/nab_anomaly.json) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

import kerasae
from kerasae.apps import SeriesAnomalyDetector, SeriesScaler
from kerasae.data import load_nab, point_labels
from kerasae.metrics import auroc, precision_recall_at

ROOT = Path(__file__).resolve().parents[1]
SERIES = (
    "artificialWithAnomaly/art_daily_jumpsup.csv",
    "artificialWithAnomaly/art_daily_flatmiddle.csv",
    "artificialWithAnomaly/art_increase_spike_density.csv",
    "realKnownCause/nyc_taxi.csv",
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
)


def nab_folder(given: str | None) -> Path:
    if given:
        return Path(given)
    if os.environ.get("KERASAE_DATA_DIR"):
        return Path(os.environ["KERASAE_DATA_DIR"]) / "nab"
    return ROOT.parent / "shared" / "data" / "nab"


def probation_period(steps: int) -> int:
    """NAB's probationary period: 15% of the series, at most 750 steps."""
    return int(min(np.floor(0.15 * steps), 0.15 * 5000))


def run_series(values: np.ndarray, labels: np.ndarray, args: argparse.Namespace) -> dict:
    """Train on the probationary period, score every step, measure the steps after it."""
    start = time.time()
    train = values[: probation_period(len(values))]
    scaler = SeriesScaler().fit(train)
    keras.utils.set_random_seed(args.seed)
    model = kerasae.build("ae", input_shape=(args.window,), latent_dim=args.latent_dim,
                          hidden_units=(args.hidden,))
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    detector = SeriesAnomalyDetector(model, args.contamination, scaler=scaler)
    model.fit(detector.windows(train), epochs=args.epochs, batch_size=32, verbose=0)
    train_seconds = time.time() - start
    detector.fit(train)
    scores = detector.score(values)[len(train):]
    truth = labels[len(train):]
    counts = precision_recall_at(scores, truth, detector.threshold_)
    baseline = np.abs(scaler.transform(values)[len(train):])
    return {
        "steps": len(values),
        "train_steps": len(train),
        "anomalous_fraction": round(float(truth.mean()), 4),
        "auroc": round(auroc(scores, truth), 4),
        "baseline_auroc": round(auroc(baseline, truth), 4),
        "precision": round(counts["precision"], 4),
        "recall": round(counts["recall"], 4),
        "f1": round(counts["f1"], 4),
        "flagged_fraction": round(counts["flagged"] / len(truth), 4),
        "train_flagged_fraction": round(float(detector.predict(train).mean()), 4),
        "threshold": float(f"{detector.threshold_:.6g}"),
        "train_seconds": round(train_seconds, 2),
    }


def table(results: dict[str, dict]) -> str:
    columns = ("auroc", "baseline_auroc", "precision", "recall", "f1", "flagged_fraction",
               "anomalous_fraction", "train_seconds")
    header = f"{'series':<55}" + "".join(f"{c[:10]:>11}" for c in columns)
    rows = [f"{name:<55}" + "".join(f"{r[c]:>11.3f}" for c in columns)
            for name, r in results.items()]
    return "\n".join([header, *rows])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", nargs="+", default=list(SERIES),
                        help="NAB keys such as realKnownCause/nyc_taxi.csv")
    parser.add_argument("--data", help="folder with nab_series.npz and combined_windows.json")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "nab_anomaly.json"))
    parser.add_argument("--window", type=int, default=48)
    parser.add_argument("--latent-dim", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--contamination", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    corpus = load_nab(nab_folder(args.data))
    unknown = sorted(set(args.series) - set(corpus))
    if unknown:
        parser.error(f"unknown NAB series {unknown}; known e.g. {sorted(corpus)[:3]}")
    results = {}
    for name in args.series:
        series = corpus[name]
        labels = point_labels(series.timestamps, series.windows)
        results[name] = run_series(series.values, labels, args)
        print(f"{name}: AUROC {results[name]['auroc']:.3f}", flush=True)
    summary = {
        "backend": keras.backend.backend(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "data", "series")},
        "mean_auroc": round(float(np.mean([r["auroc"] for r in results.values()])), 4),
        "mean_baseline_auroc": round(
            float(np.mean([r["baseline_auroc"] for r in results.values()])), 4
        ),
        "series": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(results))
    print(f"mean AUROC {summary['mean_auroc']:.3f} (baseline {summary['mean_baseline_auroc']:.3f});"
          f" wrote {out}")
    return summary


if __name__ == "__main__":
    main()
