"""What a trained model takes and answers: the raw columns, their kinds, what a missing or
unseen value becomes, the task and its labels.

Train writes it beside the model (`models/contract.json`) from the training split alone;
register ships it inside the MLflow model with the threshold; the service, batch scoring,
evaluate and MLflow's own model interface all read it to turn a raw row into the model's
inputs. One description of the inputs, so no consumer re-implements an encoding.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pipeline.core.tasks import Task

NUMERIC, BOOLEAN, CATEGORICAL, DROPPED = "numeric", "boolean", "categorical", "dropped"
FEATURE_KINDS = (NUMERIC, BOOLEAN, CATEGORICAL)
# A missing category (null, NaN, an empty string) is its own category, spelled "" inside the
# model; a value never seen in training falls into StringLookup's out-of-vocabulary bucket.
MISSING = ""
ONE_HOT, EMBEDDING = "one_hot", "embedding"
# Names Keras gives layers the pipeline builds: an input must not take one of them.
RESERVED_NAMES = ("numeric", "impute", "normalize", "missing_flags", "features", "logits", "target_units")


@dataclass(frozen=True)
class FeatureSpec:
    """One raw column as the model takes it, with everything learnt about it in training."""

    name: str  # the column's name in the table and in a request
    kind: str  # numeric | boolean | categorical
    input: str  # the Keras input's name (the column's, made safe for Keras)
    missing_count: int = 0  # missing values in the training split
    # numeric: what a missing value becomes, and the scale the model normalises with
    median: float | None = None
    mean: float | None = None
    variance: float | None = None
    indicator: bool = False  # the model also sees whether the value was missing
    # boolean and categorical: the known values, most frequent first ("" = missing)
    categories: list[str] = field(default_factory=list)
    encoding: str | None = None  # one_hot | embedding

    @property
    def is_numeric(self) -> bool:
        return self.kind == NUMERIC

    def missing_becomes(self) -> str:
        """What a missing value turns into, in words: /metadata shows it."""
        if self.is_numeric:
            flag = " and the model is told it was missing" if self.indicator else ""
            return f"the training median {self.median:g}{flag}"
        if MISSING in self.categories:
            return "its own category (missing)"
        return "the out-of-vocabulary bucket (never missing in training)"

    def describe(self) -> dict[str, Any]:
        """The feature as a client needs to know it."""
        shown: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "missing_becomes": self.missing_becomes(),
        }
        if self.is_numeric:
            shown["median"] = self.median
        else:
            shown["categories"] = [c for c in self.categories if c != MISSING]
            shown["unseen_becomes"] = "the out-of-vocabulary bucket"
            shown["encoding"] = self.encoding
        return shown


@dataclass(frozen=True)
class Contract:
    features: list[FeatureSpec]
    target: str
    task: Task
    class_labels: list
    # Columns a row may carry that the model does not use (the target, the columns prepare
    # dropped), and why: accepted and ignored, so a row of the training table scores as it is.
    ignored: dict[str, str] = field(default_factory=dict)
    threshold: float | None = None  # binary: recorded at registration

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureSpec:
        return next(f for f in self.features if f.name == name)

    def with_threshold(self, threshold: float | None) -> Contract:
        return replace(self, threshold=threshold)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Contract:
        features = [FeatureSpec(**f) for f in raw["features"]]
        return cls(**{**raw, "features": features})

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.target,
            "class_labels": self.class_labels,
            "threshold": self.threshold,
            "features": [f.describe() for f in self.features],
            "ignored_columns": self.ignored,
        }


def input_names(columns: list[str]) -> dict[str, str]:
    """Column -> a Keras input name: its own where Keras allows it (no `/`), unique, and
    never the name of a layer the pipeline builds."""
    taken = set(RESERVED_NAMES)
    names = {}
    for column in columns:
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", column).strip("_") or "column"
        name, n = base, 1
        while name in taken or re.fullmatch(r"(dense|dropout|lookup|embed|flat)_\d+", name):
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[column] = name
    return names
