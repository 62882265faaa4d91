"""Figures for MLflow: training curves (train vs validation) and the holdout evaluation."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from pipeline.io.files import atomic_path

# Panels drawn when present; every other per-epoch metric is in MLflow and history.csv.
# Fewer panels keep the figure readable and cheap (each costs ~0.2 s to render here).
PANELS = ("loss", "auc", "accuracy", "rmse", "learning_rate")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display here, nor on a training runner
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    _pyplot().close(fig)


def _log_label(value: float, _position: object = None) -> str:
    """A log axis' tick as plain text (1e-03), at mantissas 1, 2 and 5 only."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** math.floor(math.log10(value))
    return f"{value:.0e}" if any(math.isclose(mantissa, m) for m in (1, 2, 5)) else ""


def plot_curves(history: pd.DataFrame, path: str | Path) -> None:
    """One panel per quantity, train next to validation.

    Drawn once, with fixed margins and plain tick labels: `tight_layout` draws the figure a
    second time to measure it, and a log axis' default labels go through mathtext; together
    they made this figure cost half of what the train stage adds to `model.fit` on a small
    table (0.27 s against 0.14 s here)."""
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter

    names = [name for name in PANELS if name in history]
    width, height = 4.0 * len(names), 3.2
    fig, axes = plt.subplots(1, len(names), figsize=(width, height), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(history["epoch"], history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(history["epoch"], history[f"val_{name}"], label="validation")
        # y given: the title sits on the axes' top, not placed by measuring the top ticks
        # (there are none) on every draw: a tenth of the figure's cost.
        ax.set_title(name, y=1.0)
        ax.set_xlabel("epoch")
        if name == "learning_rate":
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(_log_label))
            ax.yaxis.set_minor_formatter(FuncFormatter(_log_label))
    axes[0][0].legend(loc="upper right")
    # Margins in inches (tick labels need about 0.6 in on the left), whatever the panel count.
    fig.subplots_adjust(
        left=0.6 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.35 / height, wspace=0.3
    )
    _save(fig, path)


def plot_xy(
    points: list[dict],
    x: str,
    y: str,
    title: str,
    path: str | Path,
    diagonal: bool = False,
    line: bool = True,
) -> None:
    """A curve (ROC, PR) or a scatter (predicted vs actual, residuals) from plot rows."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    xs, ys = [p[x] for p in points], [p[y] for p in points]
    ax.plot(xs, ys) if line else ax.scatter(xs, ys, s=8)
    if diagonal and xs:
        low, high = min(xs + ys), max(xs + ys)
        ax.plot([low, high], [low, high], linestyle="--", color="grey")
    ax.set(title=title, xlabel=x, ylabel=y)
    fig.tight_layout()
    _save(fig, path)


def plot_bars(rows: list[dict], value: str, label: str, title: str, path: str | Path) -> None:
    """One horizontal bar per row (a class's F1), labelled by `label`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 1.5 + 0.3 * len(rows)))
    ax.barh([str(row[label]) for row in rows], [row[value] for row in rows])
    ax.set(title=title, xlabel=value, ylabel=label, xlim=(0, 1))
    ax.invert_yaxis()  # the first class on top, as listed
    fig.tight_layout()
    _save(fig, path)


def plot_confusion(actual: list, predicted: list, labels: list, path: str | Path) -> None:
    """Counts of actual (rows) against predicted (columns) classes."""
    plt = _pyplot()
    names = [str(label) for label in labels]
    index = {name: i for i, name in enumerate(names)}
    counts = [[0] * len(names) for _ in names]
    for a, p in zip(actual, predicted):
        counts[index[str(a)]][index[str(p)]] += 1
    size = 2.5 + 0.4 * len(names)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(counts, cmap="Blues")
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center")
    ax.set(
        xticks=range(len(names)),
        yticks=range(len(names)),
        xticklabels=names,
        yticklabels=names,
        xlabel="predicted",
        ylabel="actual",
        title="confusion matrix (holdout)",
    )
    fig.tight_layout()
    _save(fig, path)
