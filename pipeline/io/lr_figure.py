"""The learning-rate finder's figure: every rate's curves in one picture, the recommended one marked."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.io.figures import _pyplot, _save


def plot_rate_curves(
    curves: Mapping[float, Sequence[Mapping[str, float]]],
    groups: Mapping[float, str],
    recommended: float,
    path: str | Path,
) -> None:
    """Two panels, training and validation loss per epoch on a log scale, one line per rate
    (labelled with its group: unstable, too slow, reasonable); the recommended rate drawn thick."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), squeeze=False)
    colours = plt.get_cmap("viridis")
    rates = sorted(curves)
    for i, rate in enumerate(rates):
        rows = curves[rate]
        epochs = [row["epoch"] for row in rows]
        colour = colours(i / max(1, len(rates) - 1))
        width = 3.0 if math.isclose(rate, recommended) else 1.2
        for ax, key in zip(axes[0], ("loss", "val_loss")):
            values = [row.get(key, math.nan) for row in rows]
            # Markers: a fit that diverged in its second epoch has a single point to show.
            ax.plot(
                epochs,
                values,
                "o-",
                color=colour,
                linewidth=width,
                markersize=3,
                label=f"{rate:g} ({groups[rate]})",
            )
    for ax, title in zip(axes[0], ("training loss", "validation loss")):
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(title)
    axes[0][1].legend(fontsize=7, title=f"rate (recommended {recommended:g})", title_fontsize=7)
    fig.tight_layout()
    _save(fig, path)
