"""Linear probes: how linearly decodable a label is from a representation.

The classifier is multinomial logistic regression with an L2 penalty on the weights (not the
intercepts), fitted by L-BFGS on the exact softmax cross-entropy. It is scikit-learn's
`LogisticRegression()` objective (C = inverse penalty strength) without the dependency, and
it is deterministic: the optimum is unique and L-BFGS starts from zero, so no seed is needed.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from kerasae._checks import check_int, check_positive_float, integer_labels, numbers


class SoftmaxRegression:
    """Multinomial logistic regression: minimises
    mean_i CE(softmax(W^T x_i + b), y_i) + ||W||^2 / (2 C N), i.e. sklearn's
    C * sum_i CE_i + ||W||^2 / 2 divided by C N (same minimiser)."""

    def __init__(self, C: float = 1.0, max_iter: int = 1000, tol: float = 1e-6):
        self.C = check_positive_float(C, "C")
        self.max_iter = check_int(max_iter, "max_iter")
        self.tol = check_positive_float(tol, "tol")

    def fit(self, x: np.ndarray, labels: np.ndarray) -> SoftmaxRegression:
        x = numbers(x, "x", ndim=2)
        labels = integer_labels(labels, "labels", len(x))
        self.classes_, y = np.unique(labels, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"a classifier needs at least 2 classes in its training labels; got "
                f"{self.classes_.tolist()}."
            )
        n, d = x.shape
        num_classes = len(self.classes_)
        one_hot = np.zeros((n, num_classes))
        one_hot[np.arange(n), y] = 1.0
        penalty = 1.0 / (self.C * n)
        rows = np.arange(n)

        def objective(theta):
            weights = theta[: d * num_classes].reshape(d, num_classes)
            logits = x @ weights
            logits += theta[d * num_classes :]
            logits -= logits.max(axis=1, keepdims=True)  # stable softmax
            residual = np.exp(logits)
            norm = residual.sum(axis=1, keepdims=True)
            loss = np.mean(np.log(norm[:, 0]) - logits[rows, y])
            loss += 0.5 * penalty * np.sum(weights**2)
            residual /= norm
            residual -= one_hot
            residual /= n
            grad_w = x.T @ residual + penalty * weights
            return loss, np.concatenate([grad_w.ravel(), residual.sum(axis=0)])

        result = minimize(
            objective, np.zeros(d * num_classes + num_classes), jac=True, method="L-BFGS-B",
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-12},
        )
        self.coef_ = result.x[: d * num_classes].reshape(d, num_classes)
        self.intercept_ = result.x[d * num_classes :]
        self.n_iter_ = int(result.nit)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = numbers(x, "x", ndim=2)
        if x.shape[1] != self.coef_.shape[0]:
            raise ValueError(
                f"x must have {self.coef_.shape[0]} features like the training data; "
                f"got {x.shape[1]}."
            )
        return self.classes_[np.argmax(x @ self.coef_ + self.intercept_, axis=1)]

    def score(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Accuracy on (x, labels)."""
        labels = integer_labels(labels, "labels", len(x))
        return float(np.mean(self.predict(x) == labels))


def linear_probe_accuracy(
    train_codes,
    train_labels,
    test_codes,
    test_labels,
    *,
    C: float = 1.0,
    max_iter: int = 1000,
) -> float:
    """Test accuracy of a linear classifier trained on frozen embeddings (a linear probe).

    Codes are standardised with the training codes' mean and standard deviation (constant
    dimensions are left centred), then multinomial logistic regression with L2 penalty
    (inverse strength `C`, as in scikit-learn) is fitted on the training pairs. Labels are
    integer class indices; a test class never seen in training is always counted wrong.
    60000 x 64 codes with 10 classes take about one CPU-second (about 50 L-BFGS steps).
    """
    train = numbers(train_codes, "train_codes", ndim=2)
    test = numbers(test_codes, "test_codes", ndim=2)
    if test.shape[1] != train.shape[1]:
        raise ValueError(
            f"test_codes must have as many dimensions as train_codes ({train.shape[1]}); "
            f"got {test.shape[1]}."
        )
    y_train = integer_labels(train_labels, "train_labels", len(train))
    y_test = integer_labels(test_labels, "test_labels", len(test))
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    probe = SoftmaxRegression(C=C, max_iter=max_iter).fit((train - mean) / std, y_train)
    return probe.score((test - mean) / std, y_test)
