"""Counter-based random numbers: every draw is a pure function of (seed, person, stream, episode).

Chunk sizes, worker counts and the policy being rolled out then cannot change which random
number a person meets, which gives both chunk-invariant generation and common random numbers
when two policies are compared.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_STREAM = np.uint64(0xD1B54A32D192ED03)
_EPISODE = np.uint64(0x8CB92BA72F3D8DD7)


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


class CounterRNG:
    """Uniform and normal draws addressed by person index, stream and episode number."""

    def __init__(self, seed: int):
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self._key = _splitmix(np.array([self.seed], dtype=np.uint64))[0]

    def uniform(self, person: np.ndarray, stream: int, episode: int = 0) -> np.ndarray:
        """Uniform draws in the open interval (0, 1), one per entry of `person`."""
        with np.errstate(over="ignore"):
            offset = self._key ^ (np.uint64(stream) * _STREAM) ^ (np.uint64(episode) * _EPISODE)
            x = _splitmix(_splitmix(np.asarray(person, dtype=np.uint64) ^ offset))
        return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def normal(self, person: np.ndarray, stream: int, episode: int = 0) -> np.ndarray:
        return ndtri(self.uniform(person, stream, episode))

    def choice(self, person: np.ndarray, stream: int, probabilities, episode: int = 0):
        """Index drawn from `probabilities` (one row per person, or one shared vector)."""
        cumulative = np.cumsum(np.atleast_2d(probabilities), axis=1)
        u = self.uniform(person, stream, episode)[:, None] * cumulative[:, -1:]
        return np.minimum((u > cumulative).sum(axis=1), cumulative.shape[1] - 1)
