"""The promotion gate: does the candidate replace the champion?"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.baseline import TRAILS, Comparison
from pipeline.core.metrics import LOWER_IS_BETTER


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide(metric: str, candidate: float, champion: float | None, min_improvement: float) -> Decision:
    """Promote when there is no champion, or the candidate is strictly better by the margin.

    Both scores must come from the same holdout split, so the caller re-scores the champion
    on today's data rather than trusting the figure recorded when it was promoted.
    """
    if champion is None:
        return Decision(True, f"no champion yet; candidate {metric}={candidate:.6g}")
    if candidate != candidate:  # NaN never wins
        return Decision(False, f"candidate {metric} is NaN")
    gain = champion - candidate if metric in LOWER_IS_BETTER else candidate - champion
    better = "lower" if metric in LOWER_IS_BETTER else "higher"
    if gain > 0 and gain >= min_improvement:
        return Decision(
            True,
            f"candidate {metric}={candidate:.6g} beats champion {champion:.6g} "
            f"by {gain:.6g} (needs {better} by >= {min_improvement:g})",
        )
    return Decision(
        False,
        f"candidate {metric}={candidate:.6g} does not beat champion {champion:.6g} "
        f"({better} is better; gain {gain:.6g}, needs > 0 and >= {min_improvement:g})",
    )


def against_baseline(decision: Decision, comparison: Comparison | None, required: bool) -> Decision:
    """With `register.require_beat_baseline`, a network that trails the classical baseline is not
    promoted whatever the champion scores (a tie, within one holdout error or 0.01 R², passes).
    Without it the baseline informs and never decides."""
    if not required:
        return decision
    if comparison is None:
        return Decision(
            False,
            "register.require_beat_baseline is on but evaluate recorded no baseline metrics. "
            "Fix: set evaluate.baseline: true and rerun evaluate.",
        )
    if comparison.outcome != TRAILS:
        return decision
    return Decision(
        False,
        f"{comparison.line()}, and register.require_beat_baseline asks it to beat or match it"
        + (f" (against the champion: {decision.reason})" if decision.promote else f"; {decision.reason}"),
    )
