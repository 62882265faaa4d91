"""Drift of new rows against the training split, per feature, by effect size with a noise bound.

Why not p-values: a test of "exactly the same distribution" flags nearly every column of a
large sample (a shift of 0.01 standard deviations is "significant" at 1M rows) and misses real
shifts on small ones. Each check here measures how far apart the two distributions are, in
units that mean the same at 100 rows and at 1M, and flags a feature when that distance exceeds

    threshold = max(floor, noise bound)

The floor is the smallest change worth acting on (a param). The noise bound is how far two
samples of the same distribution drift apart by chance at these sample sizes, at a
false-alarm rate `alpha` per check; it shrinks like 1/sqrt(n), so at 100 rows only a large
change is flagged, and from a few thousand rows on the floor decides. Every statistic and
bound is a closed form or a scipy distance; `tests/core/test_drift.py` checks exact values.

Checks per feature:
- numeric: Wasserstein-1 distance between the observed values, divided by the training
  standard deviation ("the mean moved by this many standard deviations", for a pure shift);
  PSI over the training deciles is reported beside it, without a verdict (its chance level
  at 100 rows, about 0.1-0.2, is the size of the rule-of-thumb threshold 0.2).
- categorical and boolean: Jensen-Shannon distance (base 2, in [0, 1]) between the shares
  of the observed categories (values unseen in training pooled as one); PSI reported beside
  it; the share of values training never saw, against its Good-Turing expectation.
- every feature: the change of its share of missing values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from pipeline.core.stats import FeatureStats, NumericSummary

# The defaults of the `monitoring` params, and why (README "Monitoring").
ALPHA = (
    0.001  # chance of a false alarm per check: 20 features x 3 checks flag a table ~6 % of the time at most
)
NUMERIC_FLOOR = 0.1  # W1 / training sd: a mean moved by a tenth of a standard deviation
CATEGORICAL_FLOOR = 0.1  # JS distance; Evidently's default for large samples
MISSING_FLOOR = 0.1  # ten points more (or fewer) missing values
UNSEEN_FLOOR = 0.05  # one value in twenty never seen in training
# Values kept per numeric column and side (a uniform sample): W1 between samples of 20,000
# values strays from the whole columns' by about 0.01 sd, a tenth of the floor, and the noise
# bound counts the sample, not the rows. 100,000 (the median's sample) cost 5x the memory.
SAMPLE = 20_000
PSI_BINS = 10
PSI_EPSILON = 1e-4  # an empty bin's share, so that the log stays finite
UNSEEN = "(unseen)"
POOLED = "(rare, pooled)"
MIN_EXPECTED = 5  # counts a category needs in the smaller sample to be compared on its own

# Of |B(t)|, B a Brownian bridge (the limit of the scaled difference of two empirical
# distribution functions): E|B(t)| = sqrt(2/pi) sqrt(t(1-t)), sd = sqrt(1-2/pi) sqrt(t(1-t)).
_MEAN_ABS_NORMAL = math.sqrt(2 / math.pi)
_SD_ABS_NORMAL = math.sqrt(1 - 2 / math.pi)


@dataclass(frozen=True)
class Thresholds:
    alpha: float = ALPHA
    numeric_floor: float = NUMERIC_FLOOR
    categorical_floor: float = CATEGORICAL_FLOOR
    missing_floor: float = MISSING_FLOOR
    unseen_floor: float = UNSEEN_FLOOR


@dataclass(frozen=True)
class Check:
    """One statistic of one feature, with the threshold it was held to."""

    check: str  # wasserstein | jensen_shannon | missing_rate | unseen_share | schema
    statistic: float
    threshold: float
    reference_rows: int
    new_rows: int
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        return self.statistic > self.threshold

    @property
    def score(self) -> float:
        """statistic / threshold: above 1 is drift; features are ranked by it."""
        if self.threshold <= 0:
            return math.inf if self.statistic > 0 else 0.0
        return self.statistic / self.threshold

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(verdict="drift" if self.drifted else "ok", score=_finite(self.score))
        return out


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def effective_rows(reference: int, new: int) -> float:
    """n m / (n + m): the size the two-sample noise scales with (the smaller sample dominates)."""
    if reference <= 0 or new <= 0:
        return 0.0
    return reference * new / (reference + new)


def z_of(alpha: float) -> float:
    """The one-sided standard normal quantile of 1 - alpha."""
    return float(scipy_stats.norm.ppf(1 - alpha))


# --- numeric ---------------------------------------------------------------------------------


def spread_integral(reference: np.ndarray) -> float:
    """J = integral of sqrt(F(x)(1 - F(x))) dx over the reference's empirical F.

    sqrt(n_eff) * W1 between two samples of one distribution tends to the integral of
    |B(F(x))| dx, whose mean is sqrt(2/pi) J: J sets the chance level of W1 for this shape of
    distribution (0.9 sd for a normal, more for a skewed one), learnt from the reference.
    """
    values = np.sort(np.asarray(reference, dtype="float64"))
    n = len(values)
    if n < 2:
        return 0.0
    f = np.arange(1, n) / n  # F between consecutive order statistics
    return float(np.sum(np.sqrt(f * (1 - f)) * np.diff(values)))


def numeric_noise(j_over_sd: float, n_eff: float, alpha: float) -> float:
    """W1/sd that two samples of one distribution exceed with chance at most about alpha.

    The mean of the limit plus z(alpha) times an upper bound of its standard deviation (by
    Minkowski, at most the integral of the pointwise sd), scaled by 1/sqrt(n_eff).
    """
    if n_eff <= 0:
        return math.inf
    return (_MEAN_ABS_NORMAL + z_of(alpha) * _SD_ABS_NORMAL) * j_over_sd / math.sqrt(n_eff)


def wasserstein_sd(reference: np.ndarray, new: np.ndarray, sd: float) -> float:
    """W1 between the two samples in units of the training standard deviation."""
    if not len(reference) or not len(new):
        return 0.0
    distance = float(scipy_stats.wasserstein_distance(reference, new))
    return distance / sd if sd > 0 else (math.inf if distance > 0 else 0.0)


def decile_edges(reference: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (repeated edges of a lumpy column merged)."""
    if not len(reference):
        return np.empty(0)
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def binned_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(counts.sum(), 1)


def psi(reference_shares: np.ndarray, new_shares: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index: sum of (q - p) ln(q / p), empty shares raised to epsilon."""
    p = np.maximum(np.asarray(reference_shares, dtype="float64"), epsilon)
    q = np.maximum(np.asarray(new_shares, dtype="float64"), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_check(reference: np.ndarray, new: np.ndarray, sd: float, thresholds: Thresholds) -> Check:
    """Wasserstein in sd units against max(floor, noise bound); PSI over training deciles beside it.

    `reference`, `new`: observed (finite) values, or uniform samples of them.
    """
    statistic = wasserstein_sd(reference, new, sd)
    j = spread_integral(reference) / sd if sd > 0 else 0.0
    noise = numeric_noise(j, effective_rows(len(reference), len(new)), thresholds.alpha)
    edges = decile_edges(reference)
    detail = {
        "psi": psi(binned_shares(reference, edges), binned_shares(new, edges)),
        "reference_mean": float(np.mean(reference)) if len(reference) else None,
        "new_mean": float(np.mean(new)) if len(new) else None,
        "noise_bound": _finite(noise),
    }
    return Check(
        "wasserstein", statistic, max(thresholds.numeric_floor, noise), len(reference), len(new), detail
    )


# --- categorical -----------------------------------------------------------------------------


def category_shares(
    reference: Mapping[str, int], new: Mapping[str, int]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(categories, reference shares, new shares) over the training categories, most frequent
    first, plus UNSEEN for every new value training never saw."""
    names = sorted(reference, key=lambda c: (-reference[c], c))
    unseen = sum(count for value, count in new.items() if value not in reference)
    p = np.array([reference[c] for c in names] + [0], dtype="float64")
    q = np.array([new.get(c, 0) for c in names] + [unseen], dtype="float64")
    return [*names, UNSEEN], p / max(p.sum(), 1), q / max(q.sum(), 1)


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance, base 2: 0 for equal shares, 1 for disjoint ones."""
    if not np.sum(p) or not np.sum(q):
        return 0.0
    return float(jensenshannon(p, q, base=2))


def categorical_noise(categories: int, n_eff: float, alpha: float) -> float:
    """JS distance that two samples of one distribution exceed with chance about alpha.

    For close shares, JS divergence (nats) ~ chi2 / (8 n_eff) with chi2 of (categories - 1)
    degrees of freedom; the distance is sqrt(divergence / ln 2).
    """
    if categories < 2:
        return 0.0
    if n_eff <= 0:
        return math.inf
    return math.sqrt(scipy_stats.chi2.ppf(1 - alpha, categories - 1) / (8 * math.log(2) * n_eff))


def pooled(
    names: list[str], p: np.ndarray, q: np.ndarray, rows: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Categories expected fewer than MIN_EXPECTED times in `rows` rows pooled into one, last.

    The chi-square law the noise bound relies on needs a few counts per category: with many
    rare ones (50 categories at 1,000 rows), two samples of one distribution exceeded the
    unpooled bound in 2 tables of 20. Pooling is what the chi-square test itself asks for.
    """
    rare = p * rows < MIN_EXPECTED
    if rare.sum() < 2:
        return names, p, q
    keep = ~rare
    return (
        [c for c, k in zip(names, keep) if k] + [POOLED],
        np.append(p[keep], p[rare].sum()),
        np.append(q[keep], q[rare].sum()),
    )


def categorical_checks(
    reference: Mapping[str, int], new: Mapping[str, int], thresholds: Thresholds
) -> list[Check]:
    """Jensen-Shannon (with PSI beside it) and the unseen share, for observed (non-missing) values."""
    names, p, q = category_shares(reference, new)
    unseen = float(q[-1])
    m, n = int(sum(reference.values())), int(sum(new.values()))
    names, p, q = pooled(names, p, q, min(m, n))
    present = int(np.count_nonzero((p > 0) | (q > 0)))
    noise = categorical_noise(present, effective_rows(m, n), thresholds.alpha)
    top = np.argsort(-np.abs(q - p))[:5]
    js = Check(
        "jensen_shannon",
        js_distance(p, q),
        max(thresholds.categorical_floor, noise),
        m,
        n,
        {
            "psi": psi(p, q),
            "noise_bound": _finite(noise),
            "largest_changes": {names[i]: [round(float(p[i]), 4), round(float(q[i]), 4)] for i in top},
        },
    )
    # Good-Turing: the chance that a new draw is a value seen once or never in training.
    expected = sum(1 for count in reference.values() if count == 1) / m if m else 0.0
    noise_unseen = expected + z_of(thresholds.alpha) * math.sqrt(max(expected, 1 / max(m, 1)) / max(n, 1))
    unseen_check = Check(
        "unseen_share",
        unseen,
        max(thresholds.unseen_floor, noise_unseen),
        m,
        n,
        {"expected": expected, "noise_bound": noise_unseen},
    )
    return [js, unseen_check]


# --- every feature ---------------------------------------------------------------------------


def missing_check(
    reference_missing: int, reference_rows: int, new_missing: int, new_rows: int, thresholds: Thresholds
) -> Check:
    """|change of the missing share| against max(floor, z * its standard error, pooled)."""
    p = reference_missing / reference_rows if reference_rows else 0.0
    q = new_missing / new_rows if new_rows else 0.0
    total = reference_rows + new_rows
    pooled = (reference_missing + new_missing) / total if total else 0.0
    n_eff = effective_rows(reference_rows, new_rows)
    noise = z_of(thresholds.alpha / 2) * math.sqrt(pooled * (1 - pooled) / n_eff) if n_eff else math.inf
    return Check(
        "missing_rate",
        abs(q - p),
        max(thresholds.missing_floor, noise),
        reference_rows,
        new_rows,
        {"reference_share": p, "new_share": q, "noise_bound": _finite(noise)},
    )


def schema_check(kind: str, problem: str, new_rows: int) -> Check:
    """A column gone, new, or of another kind: drift whatever the numbers."""
    return Check("schema", 1.0, 0.0, 0, new_rows, {"problem": problem, "kind": kind})


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    checks: list[Check]

    @property
    def drifted(self) -> bool:
        return any(c.drifted for c in self.checks)

    @property
    def score(self) -> float:
        return max((c.score for c in self.checks), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        worst = max(self.checks, key=lambda c: c.score) if self.checks else None
        return {
            "name": self.name,
            "kind": self.kind,
            "drifted": self.drifted,
            "score": _finite(self.score),
            "worst_check": worst.check if worst else None,
            "checks": [c.to_dict() for c in self.checks],
        }


def rank(features: Sequence[FeatureDrift]) -> list[FeatureDrift]:
    """Most drifted first: by the largest statistic / threshold of any check, then by name."""
    return sorted(features, key=lambda f: (-f.score, f.name))


def compare(reference: FeatureStats, new: FeatureStats, thresholds: Thresholds) -> list[FeatureDrift]:
    """Every feature both sides summarised (fed the training split and the new rows), ranked
    most drifted first."""
    out = []
    for name, summary in reference.summaries.items():
        theirs = new.summaries.get(name)
        if theirs is None:
            continue
        if isinstance(summary, NumericSummary):
            sd = math.sqrt(float(summary.moments.variance[0])) if summary.moments.count else 0.0
            assert isinstance(theirs, NumericSummary)  # one kinds mapping built both sides
            checks = [numeric_check(summary.sample, theirs.sample, sd, thresholds)]
        else:
            assert not isinstance(theirs, NumericSummary)
            observed = {c: n for c, n in summary.counts.items() if c != ""}
            observed_new = {c: n for c, n in theirs.counts.items() if c != ""}
            checks = categorical_checks(observed, observed_new, thresholds)
        checks.append(missing_check(summary.missing, reference.rows, theirs.missing, new.rows, thresholds))
        out.append(FeatureDrift(name, reference.kinds[name], checks))
    return rank(out)
