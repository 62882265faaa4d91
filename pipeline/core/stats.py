"""Mean and variance gathered block by block: the statistics the model's first layer
normalises with, from a training split that is never whole in memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Moments:
    """Count, mean and sum of squared deviations per column, merged exactly (Chan et al.).

    Merging deviations rather than summing squares keeps the variance accurate when the
    mean is large next to the spread.
    """

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @staticmethod
    def of(values: np.ndarray) -> Moments:
        values = np.asarray(values, dtype="float64")
        values = values.reshape(len(values), -1)
        mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
        return Moments(len(values), mean, ((values - mean) ** 2).sum(axis=0))

    def merge(self, other: Moments) -> Moments:
        if self.count == 0:
            return other
        if other.count == 0:
            return self
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / count
        m2 = self.m2 + other.m2 + delta ** 2 * self.count * other.count / count
        return Moments(count, mean, m2)

    @property
    def variance(self) -> np.ndarray:
        """The population variance, as Keras' Normalization.adapt computes it."""
        return self.m2 / max(self.count, 1)


@dataclass(frozen=True)
class TrainingStats:
    """What building the model needs to know of the training split."""

    features: Moments
    target: Moments | None = None  # regression only: the output is rescaled into its units

    @staticmethod
    def of(x: np.ndarray, y: np.ndarray | None = None) -> TrainingStats:
        return TrainingStats(Moments.of(x), Moments.of(y) if y is not None else None)

    def merge(self, other: TrainingStats) -> TrainingStats:
        target = (self.target.merge(other.target)
                  if self.target is not None and other.target is not None else self.target or other.target)
        return TrainingStats(self.features.merge(other.features), target)

    @property
    def width(self) -> int:
        return len(self.features.mean)
