"""The drift check on tables made here: no shift, one numeric feature moved by 0.5 standard
deviations, one category's share up 20 points, a missing rate up 20 points, a column removed,
and the same rows read from a request log; then `python -m pipeline.drift` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.core.drift import Thresholds
from pipeline.core.schema import Column, Schema
from pipeline.core.stats import FeatureStats
from pipeline.drift import check
from serving.request_log import RequestLog

KINDS = {"height": "numeric", "income": "numeric", "colour": "categorical", "member": "boolean"}
SCHEMA = Schema(
    columns=[Column(n, k, "given") for n, k in KINDS.items()] + [Column("id", "dropped", "an identifier")],
    target="y",
    task="binary",
    class_labels=[0, 1],
)


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, rows)
    income[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "height": rng.normal(170, 10, rows),
            "income": income,
            "colour": rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2]),
            "member": rng.choice(["true", "false"], rows),
            "y": rng.integers(0, 2, rows),
        }
    )


@pytest.fixture(scope="module")
def reference() -> FeatureStats:
    frame = table(20_000, 0)
    stats = FeatureStats(KINDS)
    stats.add(
        {
            n: frame[n].to_numpy("float64") if k == "numeric" else frame[n].to_numpy(object)
            for n, k in KINDS.items()
        }
    )
    return stats


def more_red(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """red 50 % -> 70 %: 40 % of the other rows turn red."""
    others = np.flatnonzero(frame["colour"] != "red")
    frame.loc[rng.choice(others, int(0.4 * len(others)), replace=False), "colour"] = "red"
    return frame


def more_missing(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """income missing 10 % -> 30 %."""
    present = np.flatnonzero(frame["income"].notna())
    frame.loc[rng.choice(present, int(len(frame) * 0.2), replace=False), "income"] = np.nan
    return frame


SHIFTS = {
    "height + 0.5 sd": ("height", "wasserstein", lambda f, rng: f.assign(height=f["height"] + 5)),
    "red up 20 points": ("colour", "jensen_shannon", more_red),
    "income missing +20 points": ("income", "missing_rate", more_missing),
    "member removed": ("member", "schema", lambda f, rng: f.drop(columns="member")),
}


def checked(frame: pd.DataFrame, tmp_path, reference, suffix=".csv") -> dict:
    path = tmp_path / f"new{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    return check(path, SCHEMA, reference, Thresholds())[0]


def test_rows_of_the_training_distribution_do_not_drift(tmp_path, reference):
    report = checked(table(4000, 1), tmp_path, reference)
    assert report["drifted"] is False and report["drifted_features"] == []
    assert report["rows"] == {"reference": 20_000, "new": 4000}
    assert {f["name"] for f in report["features"]} == set(KINDS)  # the target and `id` are known columns
    height = next(f for f in report["features"] if f["name"] == "height")
    assert [c["check"] for c in height["checks"]] == ["wasserstein", "missing_rate"]
    assert height["checks"][0]["threshold"] == pytest.approx(0.1)  # the floor, at 4,000 rows


@pytest.mark.parametrize("shift", list(SHIFTS))
def test_each_shift_is_flagged_and_ranked_first(shift, tmp_path, reference):
    name, kind, change = SHIFTS[shift]
    frame = change(table(2000, 1), np.random.default_rng(5))
    report = checked(frame, tmp_path, reference, ".parquet")
    assert report["drifted"] is True
    assert report["drifted_features"] == [name]
    first = report["features"][0]
    assert (first["name"], first["worst_check"], first["drifted"]) == (name, kind, True)


def test_a_new_column_and_numbers_turned_text_are_schema_drift(tmp_path, reference):
    frame = table(500, 1).assign(height=lambda f: "tall", extra=1.0)
    report = checked(frame, tmp_path, reference)
    schema = [f for f in report["features"] if f["worst_check"] == "schema"]
    problems = {f["name"]: f["checks"][0]["detail"]["problem"] for f in schema}
    assert set(report["drifted_features"]) == {"extra", "height"}
    assert problems["extra"] == "column training never had"
    assert problems["height"] == "numeric in training, 100% of its values are not numbers now"


def test_the_request_log_reads_as_the_table_does(tmp_path, reference):
    frame = table(1000, 2).assign(height=lambda f: f["height"] + 5)
    log = RequestLog(tmp_path / "log")
    for start in range(0, 1000, 10):
        rows = frame.iloc[start : start + 10].drop(columns=["y", "id"])
        records = json.loads(rows.to_json(orient="records"))
        log.record(
            {"records": records, "predictions": [{"label": "1", "probabilities": {"0": 0.4, "1": 0.6}}] * 10}
        )
    log.close()
    from_log = check(tmp_path / "log", SCHEMA, reference, Thresholds())[0]
    from_table = checked(frame, tmp_path, reference)
    assert from_log["drifted_features"] == from_table["drifted_features"] == ["height"]
    assert from_log["features"][0]["checks"][0]["statistic"] == pytest.approx(
        from_table["features"][0]["checks"][0]["statistic"], rel=1e-9
    )


def test_the_answers_are_kept_per_version_and_the_most_answering_one_is_compared(tmp_path, reference):
    """A log across a hand-over: v2 answered 300 rows at 0.6, v10 700 at 0.9. v10's answers are
    compared with v10's own holdout answers (0.9): no drift; v2's would have drifted."""
    from pipeline.drift import SERVED_VERSION, prediction_report, read_new

    rng = np.random.default_rng(0)
    log = RequestLog(tmp_path / "log")
    frame = table(1000, 3).drop(columns=["y", "id"])
    for start in range(0, 1000, 10):
        version, p = ("2", 0.6) if start < 300 else ("10", 0.9)
        records = json.loads(frame.iloc[start : start + 10].to_json(orient="records"))
        answers = [{"label": "1", "probabilities": {"0": 1 - q, "1": q}} for q in p + rng.normal(0, 0.01, 10)]
        log.record({"version": version, "records": records, "predictions": answers})
    log.close()
    new = read_new(tmp_path / "log", SCHEMA)
    assert SERVED_VERSION not in new.columns
    assert {v: s["p_1"].moments.count for v, s in new.predictions.items()} == {"2": 300, "10": 700}
    assert new.answering_version() == "10"
    holdout = tmp_path / "holdout.parquet"
    p_1 = 0.9 + rng.normal(0, 0.01, 200)
    pd.DataFrame({"p_0": 1 - p_1, "p_1": p_1}).to_parquet(holdout)
    same = prediction_report(SCHEMA, new, Thresholds(), holdout, "10")
    assert [(p["name"], p["verdict"]) for p in same] == [("p_0", "ok"), ("p_1", "ok")]
    other = prediction_report(SCHEMA, new, Thresholds(), holdout, "2")
    assert [p["verdict"] for p in other] == ["drift", "drift"]
