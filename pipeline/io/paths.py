"""Where each stage reads and writes, relative to the repository root (DVC's working dir).

dvc.yaml names the same paths; tests/io/test_paths.py keeps the two in step.
"""

from pathlib import Path

RAW_DIR = Path("data/raw")
PREPARED_DIR = Path("data/prepared")
SCHEMA = PREPARED_DIR / "schema.json"

MODEL = Path("models/model.keras")
# What the model takes: its raw columns, their kinds and what was learnt of them (core/contract.py).
CONTRACT = Path("models/contract.json")
CHECKPOINT_DIR = Path("models/checkpoints")
BEST_CHECKPOINT = CHECKPOINT_DIR / "best.weights.h5"

TRAIN_REPORTS = Path("reports/train")
HISTORY = TRAIN_REPORTS / "history.csv"
CURVES = TRAIN_REPORTS / "curves.png"
RUN = TRAIN_REPORTS / "run.json"
DIAGNOSIS = TRAIN_REPORTS / "diagnosis.json"

EVAL_REPORTS = Path("reports/eval")
METRICS = EVAL_REPORTS / "metrics.json"
THRESHOLD = EVAL_REPORTS / "threshold.json"
# Plot data, one folder: which files a run writes depends on its task (dvc.yaml's `plots`
# declares them all; DVC skips the absent ones with a warning).
EVAL_PLOTS = EVAL_REPORTS / "plots"
ROC = EVAL_PLOTS / "roc.json"  # binary
PR = EVAL_PLOTS / "pr.json"  # binary
CONFUSION = EVAL_PLOTS / "confusion.json"  # classification
PER_CLASS = EVAL_PLOTS / "per_class.json"  # multi-class
RESIDUALS = EVAL_PLOTS / "residuals.json"  # regression: predicted vs actual, residuals
FIGURES = EVAL_REPORTS / "figures"  # the same as images, for MLflow
PREDICTIONS = EVAL_REPORTS / "predictions.parquet"

REGISTRATION = Path("reports/register/registration.json")


def split_path(name: str) -> Path:
    """`train`, `val` or `holdout` -> its parquet file."""
    return PREPARED_DIR / f"{name}.parquet"
