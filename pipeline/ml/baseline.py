"""The classical baseline every run is measured against: scikit-learn's HistGradientBoosting.

Fitted on the training split's raw columns, as the network was (no validation or holdout rows),
with its own native handling of what the network's preprocessing layers do: a missing number
stays NaN, a categorical or boolean column is a pandas category (missing is NaN, a value unseen in
training is NaN too). Seeded and capped (MAX_ITER boosting rounds, early stopping on a slice of
the training rows for large tables), so it costs about a second on the bundled tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipeline.core.contract import MISSING, NUMERIC
from pipeline.core.schema import Schema
from pipeline.core.splitting import encode_labels
from pipeline.core.tasks import REGRESSION
from pipeline.io.data import columns_of, split_tables

# Boosting rounds: scikit-learn's default. Past ~10,000 training rows its early stopping ends sooner.
MAX_ITER = 100
# HistGradientBoosting takes at most this many categories per column (its bins); rarer ones
# become missing, as they would be nearly so for 255 bins of trees anyway.
MAX_CATEGORIES = 255
# Below this many training rows one thread: OpenMP's threads spin-wait on a busy machine, and a
# multi-class fit on 1,150 rows took 37 s with them on 2 shared cores against 2 s on one.
ONE_THREAD_BELOW = 100_000
# The fit holds its rows in memory (the network streams them): a larger training split is fitted
# on its first rows, which prepare wrote in random order.
MAX_TRAIN_ROWS = 500_000


def frames(
    split: str, schema: Schema, max_rows: int | None = None
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """A split row group by row group as (raw features, targets): numbers float64 with NaN,
    categories as text with NaN for missing."""
    seen = 0
    for table in split_tables(split, [*schema.features, schema.target]):
        columns = columns_of(table, schema.kinds)
        x = pd.DataFrame(
            {
                name: values if schema.kinds[name] == NUMERIC else pd.Series(values).replace(MISSING, np.nan)
                for name, values in columns.items()
            }
        )
        target = table.column(schema.target)
        y = (
            target.to_numpy().astype("float64")
            if schema.task == REGRESSION
            else encode_labels(target.to_pandas(), schema.class_labels)
        )
        if max_rows is not None and seen + len(y) > max_rows:
            keep = max_rows - seen
            yield x.iloc[:keep], y[:keep]
            return
        seen += len(y)
        yield x, y


def as_categories(x: pd.DataFrame, schema: Schema, categories: dict[str, list]) -> pd.DataFrame:
    """Non-numeric columns as pandas categories over the training split's values."""
    return x.astype(
        {name: pd.CategoricalDtype(categories[name]) for name in x.columns if schema.kinds[name] != NUMERIC}
    )


class Baseline:
    """HistGradientBoosting fitted on the training split; `outputs` answers like the network's
    scoring: class probabilities (classification) or values (regression)."""

    def __init__(self, schema: Schema, seed: int) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        self.schema = schema
        parts = list(frames("train", schema, MAX_TRAIN_ROWS))
        x = pd.concat([p for p, _ in parts], ignore_index=True)
        y = np.concatenate([t for _, t in parts])
        self.categories = {
            name: list(x[name].value_counts().index[:MAX_CATEGORIES])
            for name in x.columns
            if schema.kinds[name] != NUMERIC
        }
        kind = HistGradientBoostingRegressor if schema.task == REGRESSION else HistGradientBoostingClassifier
        self.model = kind(max_iter=MAX_ITER, categorical_features="from_dtype", random_state=seed)
        self.rows = len(y)
        with self._threads():
            self.model.fit(as_categories(x, schema, self.categories), y)

    def _threads(self):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1 if self.rows < ONE_THREAD_BELOW else None)

    @property
    def name(self) -> str:
        return type(self.model).__name__

    def outputs(self, x: pd.DataFrame) -> np.ndarray:
        x = as_categories(x, self.schema, self.categories)
        with self._threads():
            if self.schema.task == REGRESSION:
                return np.asarray(self.model.predict(x), dtype="float64")
            probs = np.asarray(self.model.predict_proba(x), dtype="float64")
        # A class absent from the training split has no column: give it probability 0.
        full = np.zeros((len(x), len(self.schema.class_labels)))
        full[:, self.model.classes_.astype(int)] = probs
        return full

    def score_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(targets, outputs) over a split, streamed row group by row group."""
        ys, outs = [], []
        for x, y in frames(split, self.schema):
            ys.append(y)
            outs.append(self.outputs(x))
        return np.concatenate(ys), np.concatenate(outs)
