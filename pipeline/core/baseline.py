"""Does the network beat, match or trail the classical baseline on the same holdout split?

The evaluate stage fits scikit-learn's HistGradientBoosting on the training split (ml/baseline.py)
and records its holdout metrics as `baseline_<metric>`; this module reads the two side by side and
says which wins, by how much, in one line. "Matches" is a tie within what the holdout can tell
apart: one holdout error for classification (on 36 rows a single error is 2.8 points of accuracy,
noise rather than a verdict), 0.01 of R² for regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.core.tasks import REGRESSION, Task

PREFIX = "baseline_"
BASELINE_NAME = "HistGradientBoosting"
# Within this many holdout errors (classification) the two are a tie ...
MATCH_ERRORS = 1
# ... and within this much R² (regression).
MATCH_R2 = 0.01
BEATS, MATCHES, TRAILS = "beats", "matches", "trails"


@dataclass(frozen=True)
class Comparison:
    """The network against the baseline on one metric (accuracy or R²)."""

    outcome: str  # beats | matches | trails
    metric: str  # accuracy (classification) or r2 (regression)
    model: float
    baseline: float
    # The network's lead: holdout errors fewer (classification) or R² higher (regression); < 0 trails.
    margin: float
    unit: str  # "holdout errors" or "R²"

    def line(self) -> str:
        """One sentence for the stage's output and the run's tag."""
        amount = (
            f"{abs(self.margin):.0f} holdout error{'s' if abs(round(self.margin)) != 1 else ''}"
            if self.unit == "holdout errors"
            else f"{abs(self.margin):.3f} R²"
        )
        tie = (
            f"within {MATCH_ERRORS} holdout error"
            if self.unit == "holdout errors"
            else f"within {MATCH_R2} R²"
        )
        if self.outcome == MATCHES:
            how = f"matches it ({tie}: {'+' if self.margin >= 0 else '-'}{amount})"
        else:
            how = f"{self.outcome} it by {amount}"
        return (
            f"the network {how}: {self.metric} {self.model:.4f} against {BASELINE_NAME}'s "
            f"{self.baseline:.4f} on the same holdout split"
        )


def baseline_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """The baseline's metrics as recorded, `baseline_<metric>`."""
    return {f"{PREFIX}{name}": value for name, value in metrics.items()}


def compare(task: Task, metrics: Mapping[str, float], holdout_rows: int) -> Comparison | None:
    """The comparison read from evaluate's metrics (the model's and the `baseline_` ones); None
    when no baseline was fitted (`evaluate.baseline: false`)."""
    metric = "r2" if task == REGRESSION else "accuracy"
    if f"{PREFIX}{metric}" not in metrics:
        return None
    model, baseline = float(metrics[metric]), float(metrics[f"{PREFIX}{metric}"])
    if task == REGRESSION:
        margin, tie, unit = model - baseline, MATCH_R2, "R²"
    else:
        if holdout_rows < 1:
            raise ValueError(f"holdout_rows = {holdout_rows}: a holdout split has at least one row")
        # Accuracies are shares of the same rows: their difference times the rows is a whole count.
        margin, tie, unit = float(round((model - baseline) * holdout_rows)), MATCH_ERRORS, "holdout errors"
    if abs(margin) <= tie + 1e-12:
        outcome = MATCHES
    else:
        outcome = BEATS if margin > 0 else TRAILS
    return Comparison(outcome, metric, model, baseline, margin, unit)
