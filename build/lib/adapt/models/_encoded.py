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
