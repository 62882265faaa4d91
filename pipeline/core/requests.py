"""Checks on a prediction request, before the model sees anything.

Every problem names the record index, the field and what is wrong, so a client can fix its
payload without reading server logs. Pure: the service turns the problems into a 4xx.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipeline.core.errors import PipelineError
from pipeline.core.tasks import BINARY, MULTICLASS

MAX_PROBLEMS = 20  # enough to fix a payload; a flood of 1000 identical lines helps nobody
FLOAT32_MAX = float(np.finfo(np.float32).max)  # what the model takes


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


def check_threshold(threshold: Any, task: str = BINARY) -> None:
    if threshold is None:
        return
    if task != BINARY:
        what = "the most probable class wins" if task == MULTICLASS else "it answers a value"
        raise RequestError([Problem(None, "threshold",
                                    f"a {task} model has no decision threshold ({what}); omit it")])
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
            or not 0.0 <= threshold <= 1.0 or not math.isfinite(threshold):
        raise RequestError([Problem(None, "threshold",
                                    f"{threshold!r} is not a number in [0, 1]; omit it to use "
                                    "the threshold recorded with the model")])


def records_to_matrix(records: Any, features: list[str], max_records: int) -> np.ndarray:
    """Records (feature name -> number) -> a float32 matrix in the model's feature order."""
    if not isinstance(records, list) or not records:
        raise RequestError([Problem(None, "records", "must be a non-empty list of records")])
    if len(records) > max_records:
        raise RequestError([Problem(None, "records", f"{len(records)} records exceed the "
                                    f"maximum of {max_records} per request; split the batch")])
    expected = set(features)
    problems: list[Problem] = []
    matrix = np.empty((len(records), len(features)), dtype="float32")
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(Problem(i, None, "must be an object of feature name -> number"))
            continue
        for name in sorted(expected - record.keys()):
            problems.append(Problem(i, name, "missing"))
        for name in sorted(set(record) - expected):
            problems.append(Problem(i, str(name), "unknown feature; expected only the "
                                    "model's features (see /metadata)"))
        for j, name in enumerate(features):
            if name not in record:
                continue
            value = record[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(Problem(i, name, f"{value!r} is not a number"))
            # Magnitude first: math.isfinite overflows on a huge JSON integer.
            elif abs(value) > FLOAT32_MAX or not math.isfinite(value):
                problems.append(Problem(i, name, f"{value!r} is not a finite float32 number"))
            else:
                matrix[i, j] = value
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise RequestError(problems)
    return matrix


def check_outputs(raw: np.ndarray) -> None:
    """Inputs far outside anything trained on can overflow the model to inf or NaN: refuse
    those records by index rather than answer nonsense (or fail to encode it as JSON)."""
    finite = np.isfinite(np.asarray(raw, dtype="float64")).reshape(len(raw), -1).all(axis=1)
    if not finite.all():
        raise RequestError([
            Problem(int(i), None, "the model's output overflowed for this record: its values are "
                    "far outside the range the model was trained on; check their units")
            for i in np.flatnonzero(~finite)])
