"""What the model learns of the training split before training, gathered block by block
from a split that is never whole in memory: per numeric column its mean, variance, median
and missing count; per categorical column its categories and their counts; for a regression
the target's mean and spread. `feature_contract` turns them into the model's contract.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.core.contract import EMBEDDING, MISSING, NUMERIC, ONE_HOT, Contract, FeatureSpec, input_names
from pipeline.core.schema import Schema
from pipeline.core.tasks import BINARY, Task

# Values kept per numeric column to take its median: exact up to this many rows, beyond it
# the median of a uniform random sample of this size (its error is far below the spread).
MEDIAN_SAMPLE = 100_000


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
        m2 = self.m2 + other.m2 + delta**2 * self.count * other.count / count
        return Moments(count, mean, m2)

    @property
    def variance(self) -> np.ndarray:
        """The population variance, as Keras' Normalization.adapt computes it."""
        return self.m2 / max(self.count, 1)


@dataclass
class NumericSummary:
    """Moments of the observed values, their count of missing ones, and a sample for the median.

    The sample is a bottom-k sample: each value draws a random key and the MEDIAN_SAMPLE
    smallest keys stay, which is a uniform sample of everything seen, however it was batched.
    """

    seed: int = 0
    sample_size: int = MEDIAN_SAMPLE  # values kept; the drift check keeps fewer (core/drift.py)
    moments: Moments = field(default_factory=lambda: Moments(0, np.zeros(1), np.zeros(1)))
    missing: int = 0
    _sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    _keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    _rng: np.random.Generator | None = None

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype="float64").reshape(-1)
        observed = values[np.isfinite(values)]
        self.missing += len(values) - len(observed)
        if not len(observed):
            return
        self.moments = self.moments.merge(Moments.of(observed))
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        self._sample = np.concatenate([self._sample, observed])
        self._keys = np.concatenate([self._keys, self._rng.random(len(observed))])
        if len(self._sample) > self.sample_size:
            keep = np.argpartition(self._keys, self.sample_size)[: self.sample_size]
            self._sample, self._keys = self._sample[keep], self._keys[keep]

    @property
    def median(self) -> float:
        return float(np.median(self._sample)) if len(self._sample) else 0.0

    @property
    def sample(self) -> np.ndarray:
        """The observed values, all of them up to `sample_size`, else a uniform sample of that size."""
        return self._sample


@dataclass
class CategorySummary:
    """How often each category (canonical text, "" for missing) occurs."""

    counts: Counter = field(default_factory=Counter)

    def add(self, values: np.ndarray) -> None:
        found, counts = np.unique(
            np.asarray(values, dtype=object).reshape(-1).astype(str), return_counts=True
        )
        self.counts.update(dict(zip(found.tolist(), counts.tolist())))

    @property
    def missing(self) -> int:
        return self.counts.get(MISSING, 0)

    def vocabulary(self) -> list[str]:
        """Most frequent first, ties by value: the same split gives the same order."""
        return [c for c, _ in sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))]


class FeatureStats:
    """Per feature column of the training split, its summary; fed block by block."""

    def __init__(self, kinds: Mapping[str, str], seed: int = 0, sample_size: int = MEDIAN_SAMPLE) -> None:
        self.kinds = dict(kinds)
        self.summaries: dict[str, NumericSummary | CategorySummary] = {
            name: NumericSummary(seed=seed, sample_size=sample_size) if kind == NUMERIC else CategorySummary()
            for name, kind in self.kinds.items()
        }
        self.target: Moments | None = None
        self.rows = 0

    def add(self, columns: Mapping[str, np.ndarray], target: np.ndarray | None = None) -> None:
        """`columns`: each feature's values (numbers with NaN, or category text with "")."""
        for name, summary in self.summaries.items():
            summary.add(columns[name])
        if target is not None:
            block = Moments.of(target)
            self.target = block if self.target is None else self.target.merge(block)
        self.rows += len(next(iter(columns.values())))


def feature_contract(schema: Schema, stats: FeatureStats, embed_above: int) -> Contract:
    """The model's contract: each kept column with what the training split taught about it.

    A number missing in training gets a "was missing" flag input; one never missing there is
    only imputed (a flag that was always 0 in training would carry an untrained weight).
    """
    names = input_names(schema.features)
    features: list[FeatureSpec] = []
    for name in schema.features:
        summary = stats.summaries[name]
        if isinstance(summary, NumericSummary):
            mean = float(summary.moments.mean[0]) if summary.moments.count else 0.0
            variance = float(summary.moments.variance[0]) if summary.moments.count else 1.0
            features.append(
                FeatureSpec(
                    name,
                    NUMERIC,
                    names[name],
                    missing_count=summary.missing,
                    median=summary.median,
                    mean=mean,
                    variance=variance,
                    indicator=summary.missing > 0,
                )
            )
        else:
            vocabulary = summary.vocabulary()
            encoding = EMBEDDING if len(vocabulary) > embed_above else ONE_HOT
            features.append(
                FeatureSpec(
                    name,
                    schema.kinds[name],
                    names[name],
                    missing_count=summary.missing,
                    categories=vocabulary,
                    encoding=encoding,
                )
            )
    ignored = {schema.target: "the target", **schema.dropped}
    return Contract(
        features=features,
        target=schema.target,
        task=schema.task,
        class_labels=list(schema.class_labels),
        ignored=ignored,
    )


def frame_contract(
    frame: Any,
    kinds: Mapping[str, str],
    target: str = "target",
    task: Task = BINARY,
    class_labels: Sequence[Any] = (),
    embed_above: int = 20,
    target_values: np.ndarray | None = None,
) -> tuple[Contract, FeatureStats]:
    """The contract of a table already in memory (a pandas frame of raw columns): what
    benchmarks and tests build a model from without writing splits first."""
    from pipeline.core.rows import category_column
    from pipeline.core.schema import Column

    schema = Schema(
        columns=[Column(name, kind, "given") for name, kind in kinds.items()],
        target=target,
        task=task,
        class_labels=list(class_labels),
    )
    stats = FeatureStats(kinds)
    columns = {
        name: (np.asarray(frame[name], dtype="float64") if kind == NUMERIC else category_column(frame[name]))
        for name, kind in kinds.items()
    }
    stats.add(columns, target_values)
    return feature_contract(schema, stats, embed_above), stats
