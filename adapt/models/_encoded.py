"""Features as LightGBM reads them: a float matrix, categories as their codes, missing as NaN.

Predicting from this matrix instead of a DataFrame skips pandas' per-call conversion, which for
one person costs a hundred times the trees themselves. The codes are those of the categories the
model was fitted on, exactly what LightGBM derives from a pandas categorical column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Encoded:
    values: np.ndarray  # (rows, features) float
    columns: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.values)

    def take(self, rows) -> Encoded:
        return Encoded(self.values[rows], self.columns)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.columns.index(name)]

    def select(self, columns) -> Encoded:
        """These columns only, in this order."""
        return Encoded(self.values[:, [self.columns.index(c) for c in columns]], tuple(columns))


def encode(X: pd.DataFrame, categories: dict[str, list]) -> Encoded:
    """`X` (columns already in the model's order) as an `Encoded` matrix."""
    values = np.empty((len(X), X.shape[1]))
    for j, column in enumerate(X.columns):
        series = X[column]
        if column in categories:
            codes = pd.Categorical(series, categories=categories[column]).codes
            values[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            values[:, j] = series.to_numpy(float)
    return Encoded(values, tuple(X.columns))


def take(X, rows):
    """Rows of a DataFrame or of an `Encoded` matrix."""
    return X.take(rows) if isinstance(X, Encoded) else X.iloc[rows]


# Below this many rows LightGBM predicts on one thread: starting OpenMP's team costs more than
# the trees (30 times more for one person's rows on a busy 2-core machine). Above it every core
# predicts (LightGBM's 0): rows are independent, so the result does not depend on the threads.
ONE_THREAD_ROWS = 5_000
CONTRIBUTION_ROWS = 64


def raw_predict(model, matrix: np.ndarray, **options) -> np.ndarray:
    """A fitted LightGBM sklearn model's prediction from a float matrix: the probability of
    class 1 for a binary classifier, per class for a multiclass one, the value for a regressor
    (`options` go to LightGBM's ``Booster.predict``)."""
    # TreeSHAP costs about a millisecond a row: threads pay off from a few dozen rows
    many = CONTRIBUTION_ROWS if options.get("pred_contrib") else ONE_THREAD_ROWS
    threads = 1 if len(matrix) < many else 0
    return model.booster_.predict(matrix, num_threads=threads, **options)
