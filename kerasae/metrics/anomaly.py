"""Anomaly-detection scores: higher score = more anomalous, label 1 = anomaly (positive)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from kerasae._checks import binary_labels, check_range, numbers


def _scores_and_labels(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores = numbers(scores, "scores", ndim=1)
    return scores, binary_labels(labels, "labels", len(scores))


def auroc(scores, labels) -> float:
    """Area under the ROC curve: the probability that a random positive (label 1) scores
    higher than a random negative (label 0), ties counting one half.

    Computed as the Mann-Whitney U statistic with average ranks for tied scores,
    AUROC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg), R_pos the rank sum of the
    positives; threshold-free, so it compares anomaly scores of different scales.
    1.0: every positive outscores every negative; 0.5: no better than chance.
    """
    scores, positive = _scores_and_labels(scores, labels)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"auroc needs both classes in labels; got {n_pos} positive(s) and "
            f"{n_neg} negative(s)."
        )
    ranks = rankdata(scores, method="average")
    rank_sum = float(ranks[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def precision_recall_at(scores, labels, threshold: float) -> dict:
    """Precision, recall and F1 when every example with `score >= threshold` is flagged.

    Returns {"precision", "recall", "f1", "flagged"} (flagged = number of examples at or
    above the threshold). With nothing flagged, precision is 0.0 (and so is F1).
    Needs at least one positive label, else recall is undefined.
    """
    scores, positive = _scores_and_labels(scores, labels)
    check_range(threshold, -np.inf, np.inf, "threshold")
    if not positive.any():
        raise ValueError("precision_recall_at needs at least one positive label (1); got none.")
    flagged = scores >= threshold
    true_positives = int(np.sum(flagged & positive))
    n_flagged = int(flagged.sum())
    precision = true_positives / n_flagged if n_flagged else 0.0
    recall = true_positives / int(positive.sum())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "flagged": n_flagged}
