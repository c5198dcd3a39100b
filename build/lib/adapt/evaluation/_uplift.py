"""Qini coefficient and area under the uplift curve per arm, inverse-propensity weighted."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from adapt.evaluation._validate import (
    check_clip,
    code_index,
    matrix,
    propensity_matrix,
    resolve_interventions,
    show_rows,
    unit_interval,
    vector,
)

CURVE_COLUMNS = ("arm", "fraction", "gain", "random")


class QiniResult(NamedTuple):
    """`table`: one row per arm; `curves`: curve points (arm, fraction, gain, random)."""

    table: pd.DataFrame
    curves: pd.DataFrame


def _arm_curve(score, treated, reward, e_arm) -> tuple[np.ndarray, np.ndarray]:
    """Points (fraction, gain) of one arm's IPW gain curve, one per distinct score, from (0, 0)."""
    n = len(score)
    w_t, w_c = np.zeros(n), np.zeros(n)
    w_t[treated] = 1.0 / e_arm[treated]
    w_c[~treated] = 1.0 / (1.0 - e_arm[~treated])
    # Hajek normalisation: each group's weights sum to n, so gain(1) is a weighted mean difference
    w_t *= n / w_t.sum()
    w_c *= n / w_c.sum()
    order = np.argsort(-score, kind="stable")
    contrib = (w_t - w_c)[order] * reward[order] / n
    gain = np.cumsum(contrib)
    s = score[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last row of each tie group
    fraction = np.r_[0.0, (ends + 1) / n]
    return fraction, np.r_[0.0, gain[ends]]


def _thin(fraction: np.ndarray, max_points: int) -> np.ndarray:
    if len(fraction) <= max_points:
        return np.arange(len(fraction))
    return np.unique(np.round(np.linspace(0, len(fraction) - 1, max_points)).astype(np.int64))


def qini_auuc(
    uplift,
    observed,
    reward,
    propensity,
    interventions=None,
    *,
    clip: float | None = None,
    max_points: int = 201,
) -> QiniResult:
    """Qini coefficient and AUUC of each arm's uplift ranking, on confounded logged data.

    Definition, for arm ``a``:

    - Rows: the ``N_a`` rows where ``a`` was available (``e_a > 0``). Treated rows have
      ``observed == a`` and weight ``1 / e_a``; control rows have another observed action and
      weight ``1 / (1 - e_a)``. Each group's weights are rescaled to sum to ``N_a``.
    - Ranking: rows sorted by the predicted uplift of ``a``, highest first; tied scores form one
      step of the curve.
    - Gain curve: after the top ``k`` rows, ``g(k / N_a) = sum_top_k(w_t r - w_c r) / N_a``, the
      estimated progressions gained per person by giving ``a`` to that top fraction instead of
      what caseworkers would otherwise have chosen there. The control group is every row whose
      observed arm is not ``a``, reweighted to stand for all rows: it is current practice
      without ``a``, not one usual arm. ``g(1)`` (column ``ate``) is the IPW estimate of the
      arm's mean uplift.
    - Random line: a random ranking gives ``phi * g(1)`` in expectation.
    - ``auuc``: area under ``g`` over ``phi`` in [0, 1] (trapezoids); ``qini``: area between
      ``g`` and the random line. A random ranking scores about 0, a constant score exactly 0,
      and higher is better.

    Parameters
    ----------
    uplift : (n, A) array or DataFrame
        Predicted uplift of each arm (e.g. ``predict_uplift``, against current practice); only
        the ranking within an arm matters, and only entries where the arm is available are read
        (others may be NaN).
    observed : array-like of str
        The intervention chosen at each row.
    reward : array-like of float
        1 if the episode progressed, else 0.
    propensity : (n, A) array or DataFrame
        Behaviour propensities, rows summing to 1, 0 where not available.
    interventions : sequence of str, optional
        The arms (matrix columns); a DataFrame's columns or the catalogue's codes by default.
    clip : float, optional
        Bound ``e_a`` to ``[clip, 1 - clip]`` before weighting. By default weights are used as
        they are, and a control row with ``e_a = 1`` raises.
    max_points : int
        Curve points kept per arm in ``curves`` (evenly thinned; areas use all points).

    Returns
    -------
    QiniResult
        ``table`` indexed by arm with n_available, n_treated, n_control, ate, auuc, qini (NaN
        when an arm has no treated or no control rows) and ``curves`` with columns arm,
        fraction, gain, random.
    """
    check_clip(clip)
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points!r}")
    codes = resolve_interventions(interventions, uplift, propensity)
    n = len(vector(observed, "observed"))
    obs = code_index(observed, codes, "observed", n)
    r = unit_interval(reward, "reward", n)
    e = propensity_matrix(propensity, n, codes)
    u = matrix(uplift, "uplift", n, codes)
    available = e > 0
    bad = (available & ~np.isfinite(u)).any(axis=1)
    if bad.any():
        raise ValueError(
            f"uplift must be finite wherever the arm is available; it is not on {show_rows(bad)}"
        )
    if clip is not None:
        e = np.where(available, np.clip(e, clip, 1 - clip), 0.0)

    rows, curves = [], []
    for j, arm in enumerate(codes):
        keep = available[:, j]
        treated = obs[keep] == j
        n_t, n_c = int(treated.sum()), int((~treated).sum())
        row = {"arm": arm, "n_available": int(keep.sum()), "n_treated": n_t, "n_control": n_c}
        if n_t == 0 or n_c == 0:
            rows.append({**row, "ate": np.nan, "auuc": np.nan, "qini": np.nan})
            continue
        e_arm = e[keep, j]
        certain = ~treated & (e_arm >= 1)
        if certain.any():
            where = np.flatnonzero(keep)[certain]
            raise ValueError(
                f"arm {arm!r}: control rows have propensity 1 for the arm on {show_rows(where)}; "
                "pass clip=... or fix the propensities"
            )
        fraction, gain = _arm_curve(u[keep, j], treated, r[keep], e_arm)
        ate = gain[-1]
        auuc = float(np.trapezoid(gain, fraction))
        qini = float(np.trapezoid(gain - fraction * ate, fraction))
        rows.append({**row, "ate": float(ate), "auuc": auuc, "qini": qini})
        pick = _thin(fraction, max_points)
        curves.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "fraction": fraction[pick],
                    "gain": gain[pick],
                    "random": fraction[pick] * ate,
                }
            )
        )
    table = pd.DataFrame(rows).set_index("arm")
    empty = pd.DataFrame(
        {"arm": pd.Series(dtype=str), **{c: pd.Series(dtype=float) for c in CURVE_COLUMNS[1:]}}
    )
    curve_table = pd.concat(curves, ignore_index=True) if curves else empty
    return QiniResult(table, curve_table)
