"""A table as people have them, made by the tests themselves: a row number, a name, two text
columns with missing values, a fifth of one numeric column missing, a true/false column with
gaps, and a target of the task asked for (text labels for classes)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline.core.tasks import Task

TABLE = "data/raw/penguins.csv"
TARGET = "heavy"
NUMERIC = ["bill_length_mm", "flipper_length_mm", "body_mass_g"]
LABELS = {"binary": ["no", "yes"], "multiclass": ["heavy", "light", "medium"], "regression": []}


def penguin_table(rows: int = 800, seed: int = 0, task: Task = "binary") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    island = rng.choice(["Biscoe", "Dream", "Torgersen"], rows).astype(object)
    island[rng.random(rows) < 0.05] = None
    sex = rng.choice(["male", "female"], rows).astype(object)
    sex[rng.random(rows) < 0.1] = None
    bill = rng.normal(44, 5, rows).round(1)
    flipper = rng.integers(170, 231, rows)
    mass = rng.normal(4200, 800, rows).round(0)
    tagged = (rng.random(rows) < 0.5).astype(object)
    tagged[rng.random(rows) < 0.05] = None
    score = (
        (mass - 4200) / 800
        + (bill - 44) / 10
        + (sex == "male")
        + 0.5 * (island == "Biscoe")
        - 0.6
        + rng.normal(0, 0.3, rows)
    )
    bill[rng.random(rows) < 0.2] = np.nan
    if task == "binary":
        target: object = np.where(score > 0, "yes", "no")
    elif task == "multiclass":
        target = np.array(["light", "medium", "heavy"])[
            np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
        ]
    else:
        target = (100 + 25 * score).round(2)
    return pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "name": [f"penguin {i}" for i in range(rows)],
            "island": island,
            "sex": sex,
            "bill_length_mm": bill,
            "flipper_length_mm": flipper,
            "body_mass_g": mass,
            "tagged": tagged,
            TARGET: target,
        }
    )


def natural(frame: pd.DataFrame) -> list[dict]:
    """Rows as a client sends them: JSON has null, not NaN."""
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def golden_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows every consumer must answer alike: natural ones, every feature missing, unseen
    categories, extreme and negative numbers; the target dropped and the columns shuffled."""
    natural_rows = table.drop(columns=TARGET).head(12)
    odd = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "name": ["x", "y", "z", "w", "v"],
            "island": [None, "Atlantis", "Biscoe", None, "Dream"],
            "sex": [None, "unknown", "male", "female", None],
            "bill_length_mm": [np.nan, 44.0, 1e4, -1e3, np.nan],
            "flipper_length_mm": [np.nan, 180.0, 5000.0, 0.0, 200.0],
            "body_mass_g": [np.nan, np.nan, 2e5, 1.0, 3000.0],
            "tagged": [None, True, False, None, True],
        }
    )
    rows = pd.concat([natural_rows.astype(object), odd.astype(object)], ignore_index=True)
    return rows[list(reversed(rows.columns))]


def write_table(repo, task: Task = "binary") -> None:
    (repo / TABLE).parent.mkdir(parents=True, exist_ok=True)
    penguin_table(task=task).to_csv(repo / TABLE, index=False)
