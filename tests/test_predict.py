"""Batch scoring: a file in the training table's own format, in chunks, the answers beside each
row, rejects kept. Unit tests over a stand-in model; one integration test over the champion."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.core.contract import BOOLEAN, CATEGORICAL, NUMERIC, Contract, FeatureSpec
from pipeline.core.errors import DataError
from pipeline.core.postprocess import probabilities
from pipeline.io.champion import ServedModel
from pipeline.predict import Source, Writer, score_chunks, with_answers
from tests.conftest import MAX_RECORDS, MODEL, run_ok, tool_env
from tests.messy import TABLE, TARGET, natural

CONTRACT = Contract(
    features=[
        FeatureSpec("mass", NUMERIC, "mass", median=4000.0),
        FeatureSpec("island", CATEGORICAL, "island", categories=["Biscoe", "Dream", ""]),
        FeatureSpec("tagged", BOOLEAN, "tagged", categories=["false", "true"]),
        FeatureSpec("code", CATEGORICAL, "code", categories=["3", "12"]),
    ],
    target="heavy",
    task="binary",
    class_labels=["no", "yes"],
    ignored={"heavy": "the target", "id": "unique per row (an identifier)"},
    threshold=0.5,
)
SERVED = ServedModel(
    name="m", version="2", run_id="r", threshold=0.5, contract=CONTRACT, keras_file=Path("unused.keras")
)
# The training table's format, columns in another order; rows 3 and 5 cannot be scored.
CSV = """id,heavy,code,island,mass,tagged
007,yes,3.0,Biscoe,5000,TRUE
008,,12,,,
009,no,3,Dream,abc,false
010,yes,12,Atlantis,4000,true
011,no,3,Dream,1e39,yes
012,no,,Biscoe,-2.5,False
"""


def stand_in(inputs: dict[str, np.ndarray]) -> np.ndarray:
    """A model that reads every input by its name and kind, as the real one does."""
    assert inputs["mass"].dtype == np.float32 and inputs["island"].dtype == object
    return (
        np.nan_to_num(inputs["mass"], nan=4000.0) / 1000
        - 4
        + (inputs["island"] == "Biscoe")
        + (inputs["tagged"] == "true")
        - (inputs["code"] == "3")
    ).astype("float32")


def expected_p_yes(rows: list[tuple[float, str, str, str]]) -> np.ndarray:
    logits = np.array([[m / 1000 - 4 + (i == "Biscoe") + (t == "true") - (c == "3")] for m, i, t, c in rows])
    return probabilities(logits, "binary")[:, 1]


def score_file(source: Path, output: Path, rows: int) -> tuple[int, Writer, Writer]:
    scored, rejects = Writer(output), Writer(output.with_name("rejects.csv"))
    read = score_chunks(Source(source), rows, stand_in, SERVED, scored, rejects)
    scored.close()
    rejects.close()
    return read, scored, rejects


@pytest.mark.parametrize("rows", [2, 1000])
def test_a_csv_in_the_training_table_format_is_scored_and_its_columns_passed_through(tmp_path, rows):
    source = tmp_path / "new.csv"
    source.write_text(CSV)
    read, scored, rejects = score_file(source, tmp_path / "out.csv", rows)
    assert (read, scored.rows, rejects.rows) == (6, 4, 2)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(out.columns) == ["id", "heavy", "code", "island", "mass", "tagged", "label", "p_no", "p_yes"]
    # The input columns come back as they were written (the id keeps its zeros, empty stays empty).
    assert out["id"].tolist() == ["007", "008", "010", "012"]
    assert out["code"].tolist() == ["3.0", "12", "12", ""]
    assert out["heavy"].tolist() == ["yes", "", "yes", "no"]
    p_yes = expected_p_yes(
        [
            (5000, "Biscoe", "true", "3"),
            (4000, "", "", "12"),
            (4000, "Atlantis", "true", "12"),
            (-2.5, "Biscoe", "false", ""),
        ]
    )
    np.testing.assert_allclose(out["p_yes"].astype(float), p_yes, rtol=1e-6)
    np.testing.assert_allclose(out["p_no"].astype(float), 1 - p_yes, rtol=1e-6)
    assert out["label"].tolist() == ["yes" if p >= 0.5 else "no" for p in p_yes]
    assert pd.read_csv(tmp_path / "rejects.csv").to_dict("records") == [
        {"row": 3, "reason": "mass: 'abc' is not a number (numeric feature)"},
        {
            "row": 5,
            "reason": "mass: 1e+39 is not a finite float32 number (numeric feature); "
            "tagged: 'yes' is not true or false (boolean feature)",
        },
    ]


def test_a_typed_parquet_file_is_scored_with_its_types_kept(tmp_path):
    frame = pd.DataFrame(
        {
            "id": [7, 8, 9],
            "island": ["Biscoe", None, "Dream"],
            "mass": [5000.0, np.nan, 1e39],
            "tagged": pd.Series([True, None, False], dtype=object),
            "code": [3, 12, 3],
            "heavy": ["yes", None, "no"],
        }
    )
    frame.to_parquet(tmp_path / "new.parquet")
    read, scored, rejects = score_file(tmp_path / "new.parquet", tmp_path / "out.parquet", 2)
    assert (read, scored.rows, rejects.rows) == (3, 2, 1)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == [*frame.columns, "label", "p_no", "p_yes"]
    assert out["id"].dtype == np.int64 and out["id"].tolist() == [7, 8]
    np.testing.assert_allclose(
        out["p_yes"], expected_p_yes([(5000, "Biscoe", "true", "3"), (4000, "", "", "12")]), rtol=1e-6
    )
    assert pd.read_csv(tmp_path / "rejects.csv").to_dict("records") == [
        {"row": 3, "reason": "mass: 1e+39 is not a finite float32 number (numeric feature)"}
    ]


def test_an_answer_never_overwrites_a_column_of_the_file():
    table = pa.table({"label": ["a"], "value": [1]})
    regression = Contract(features=[], target="label", task="regression", class_labels=[])
    out = with_answers(table, np.array([[2.5]]), regression, None)
    assert out.column_names == ["label", "value", "predicted_value"]
    out = with_answers(table, np.array([[0.0]]), CONTRACT, 0.5)
    assert out.column_names == ["label", "value", "predicted_label", "p_no", "p_yes"]
    assert out["predicted_label"].to_pylist() == ["yes"]


def test_files_that_cannot_be_read_are_refused_by_name(tmp_path):
    with pytest.raises(DataError, match="unsupported file type"):
        Source(tmp_path / "new.xlsx")
    with pytest.raises(DataError, match="does not exist"):
        Source(tmp_path / "none.csv")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match="line 3 has 3 fields where the header has 2"):
        list(Source(ragged).chunks(10))
    twice = tmp_path / "twice.csv"
    twice.write_text("a,a\n1,2\n")
    with pytest.raises(DataError, match="duplicate column name"):
        Source(twice).columns()


@pytest.mark.integration
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_training_table_itself_is_scored_as_the_service_answers(served, mlflow_server, tmp_path, suffix):
    """The raw table, target, id and name columns included, text and empty cells as they are;
    one row made bad (text in a numeric column) goes to the rejects with its row number."""
    repo, client = served
    rows = pd.read_csv(repo / TABLE)
    broken = rows.astype(object)
    broken.loc[5, "body_mass_g"] = "heavy"
    source = tmp_path / f"new{suffix}"
    if suffix == ".csv":
        broken.to_csv(source, index=False)
    else:  # typed as the table is; the bad row written as text would make the column text
        rows.to_parquet(source)
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME=MODEL)
    done = run_ok([sys.executable, "-m", "pipeline.predict", str(source), "--chunk-rows", "64"], repo, env)
    bad = 1 if suffix == ".csv" else 0
    assert f"{MODEL} v1: {len(rows) - bad} of {len(rows)} rows scored" in done.stdout
    scored = (
        pd.read_csv(tmp_path / "new.scored.csv")
        if suffix == ".csv"
        else pd.read_parquet(tmp_path / "new.scored.parquet")
    )
    kept = rows.drop(index=5).reset_index(drop=True) if bad else rows
    if bad:
        assert pd.read_csv(tmp_path / "new.rejects.csv").to_dict("records") == [
            {"row": 6, "reason": "body_mass_g: 'heavy' is not a number (numeric feature)"}
        ]
    assert list(scored.columns) == [*rows.columns, "label", "p_no", "p_yes"]
    assert scored[TARGET].tolist() == kept[TARGET].tolist()
    records = natural(kept)
    service = [
        p
        for start in range(0, len(records), MAX_RECORDS)
        for p in client.post("/predict", json={"records": records[start : start + MAX_RECORDS]}).json()[
            "predictions"
        ]
    ]
    assert scored["label"].tolist() == [p["label"] for p in service]
    np.testing.assert_allclose(scored["p_yes"], [p["probabilities"]["yes"] for p in service], atol=1e-6)
    np.testing.assert_allclose(scored["body_mass_g"].astype(float), kept["body_mass_g"], rtol=1e-9)
