"""Figures for MLflow and the README: training curves, train vs validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.io.files import atomic_path

# Panels drawn when present; every other per-epoch metric is in MLflow and history.csv.
# Fewer panels keep the figure readable and cheap (each costs ~0.2 s to render here).
PANELS = ("loss", "auc", "accuracy", "learning_rate")


def plot_curves(history: pd.DataFrame, path: str | Path) -> None:
    """One panel per quantity, train next to validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name in PANELS if name in history]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(history["epoch"], history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(history["epoch"], history[f"val_{name}"], label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        if name == "learning_rate":
            ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
