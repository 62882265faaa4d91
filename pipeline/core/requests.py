"""Checks on a prediction request, before the model sees anything.

A request carries raw rows, as the training table has them: `{"island": "Biscoe", "sex": null,
"bill_length_mm": 39.1}`. Each value is checked against its feature's kind (core/contract.py):

- any feature: `null` (or the empty string) is a missing value, which the model handles;
- numeric: a JSON number within float32's range (true/false and text are refused);
- boolean: true / false, or the strings "true" / "false" (the spelling training gave them);
- categorical: text, a number or true/false, spelt as training spelt it (`category_text`);
  a category never seen in training is answered (the model's out-of-vocabulary bucket).

Every problem names the record index, the field, what is wrong and the kind expected, so a
client can fix its payload without reading server logs. Columns the model does not use but a
row of the training table has (the target, an id column prepare dropped) are accepted and
ignored. Pure: the service turns the problems into a 422.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipeline.core.contract import BOOLEAN, MISSING, NUMERIC, Contract, FeatureSpec
from pipeline.core.errors import PipelineError
from pipeline.core.rows import category_text, finite_rows, fits_float32
from pipeline.core.tasks import BINARY, MULTICLASS, Task

MAX_PROBLEMS = 20  # enough to fix a payload; a flood of 1000 identical lines helps nobody
SHOWN_NAMES = 8  # feature names listed in an "unknown feature" problem
SHOWN_CHARS = 60  # a value quoted in a problem is cut to this (a 1 MB string helps nobody)
NAN = float("nan")
__all__ = [
    "MAX_PROBLEMS",
    "Problem",
    "RecordChecker",
    "RequestError",
    "check_outputs",
    "check_threshold",
    "records_to_inputs",
]


@dataclass(frozen=True)
class Problem:
    index: int | None
    field: str | None
    problem: str


class RequestError(PipelineError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems[:MAX_PROBLEMS]
        first = problems[0]
        where = f"records[{first.index}]" if first.index is not None else "request"
        field = f".{first.field}" if first.field else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{where}{field}: {first.problem}{more}")

    def to_dict(self) -> dict[str, Any]:
        return {"error": str(self), "problems": [asdict(p) for p in self.problems]}


def check_threshold(threshold: Any, task: Task = BINARY) -> None:
    if threshold is None:
        return
    if task != BINARY:
        what = "the most probable class wins" if task == MULTICLASS else "it answers a value"
        raise RequestError(
            [Problem(None, "threshold", f"a {task} model has no decision threshold ({what}); omit it")]
        )
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0.0 <= threshold <= 1.0
        or not math.isfinite(threshold)
    ):
        raise RequestError(
            [
                Problem(
                    None,
                    "threshold",
                    f"{shown(threshold)} is not a number in [0, 1]; omit it to use "
                    "the threshold recorded with the model",
                )
            ]
        )


def shown(value: Any) -> str:
    """A value as a problem quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}..."


# Each kind's check: value -> (what the model takes, or None with the problem in words).
def number(value: Any) -> tuple[float | None, str | None]:
    if value is None or (isinstance(value, str) and value == ""):
        return NAN, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"{shown(value)} is not a number (numeric feature)"
    if not fits_float32(value):
        return None, f"{shown(value)} is not a finite float32 number (numeric feature)"
    return value, None


def boolean(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return MISSING, None
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, str) and value in ("true", "false", MISSING):
        return value, None
    return None, f"{shown(value)} is not true or false (boolean feature)"


def category(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, str):
        return value, None
    if value is None or isinstance(value, bool | int | float):
        return category_text(value), None
    return None, (
        f"{shown(value)} is not a category: send text, a number or true/false (categorical feature)"
    )


CHECKS = {NUMERIC: number, BOOLEAN: boolean}


class RecordChecker:
    """Records -> the model's inputs, for one contract; built once per served model, so a
    request pays only for its own values.

    The arrays are what `core.rows.model_inputs` makes of the same rows (float32 with NaN for a
    missing number, object arrays of category text with "" for missing; tests/core holds them
    equal), built directly: going through pandas per column cost 1.1 ms a single-record request
    of 30 features, against 0.02 ms.
    """

    def __init__(self, contract: Contract, max_records: int) -> None:
        self.features: list[FeatureSpec] = list(contract.features)
        self.names = [f.name for f in self.features]
        self.required = frozenset(self.names)
        self.accepted = self.required | frozenset(contract.ignored)
        self.checks = [(f.name, CHECKS.get(f.kind, category)) for f in self.features]
        self.max_records = max_records
        listed = ", ".join(map(repr, self.names[:SHOWN_NAMES]))
        more = f" and {len(self.names) - SHOWN_NAMES} more" if len(self.names) > SHOWN_NAMES else ""
        self.unknown = f"unknown feature; the model takes {listed}{more} (see /metadata)"

    def __call__(self, records: Any) -> dict[str, np.ndarray]:
        if not isinstance(records, list) or not records:
            raise RequestError([Problem(None, "records", "must be a non-empty list of records")])
        if len(records) > self.max_records:
            raise RequestError(
                [
                    Problem(
                        None,
                        "records",
                        f"{len(records)} records exceed the "
                        f"maximum of {self.max_records} per request; split the batch",
                    )
                ]
            )
        columns: list[list[Any]] = [[] for _ in self.features]
        problems: list[Problem] = []
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                problems.append(Problem(i, None, "must be an object of feature name -> value"))
                continue
            keys = record.keys()
            if not self.required <= keys:
                problems += [
                    Problem(i, name, "missing; send null for a missing value")
                    for name in self.names
                    if name not in record
                ]
            problems += [Problem(i, name, self.unknown) for name in sorted(map(str, keys - self.accepted))]
            for column, (name, check) in zip(columns, self.checks):
                if name in record:
                    value, problem = check(record[name])
                    if problem is None:
                        column.append(value)
                    else:
                        problems.append(Problem(i, name, problem))
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            raise RequestError(problems)
        return {
            f.input: (
                np.array(values, dtype="float64").astype("float32")
                if f.kind == NUMERIC
                else np.array(values, dtype=object)
            ).reshape(-1, 1)
            for f, values in zip(self.features, columns)
        }


def records_to_inputs(records: Any, contract: Contract, max_records: int) -> dict[str, np.ndarray]:
    """Records (feature name -> raw value) -> the model's inputs {input name: (rows, 1)}."""
    return RecordChecker(contract, max_records)(records)


def check_outputs(raw: np.ndarray) -> None:
    """Inputs far outside anything trained on can overflow the model to inf or NaN: refuse
    those records by index rather than answer nonsense (or fail to encode it as JSON)."""
    finite = finite_rows(raw)
    if not finite.all():
        raise RequestError(
            [
                Problem(
                    int(i),
                    None,
                    "the model's output overflowed for this record: its values are "
                    "far outside the range the model was trained on; check their units",
                )
                for i in np.flatnonzero(~finite)
            ]
        )
