"""The promotion gate: does the candidate replace the champion?"""

from __future__ import annotations

from dataclasses import dataclass

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
