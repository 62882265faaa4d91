"""The prepare stage on real files: every column decided and explained, missing values as
data.missing says, good tables split, bad tables refused with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.config import parse_params
from pipeline.core.errors import DataError, PipelineError
from pipeline.core.schema import Schema
from pipeline.core.splitting import SPLITS
from pipeline.io import table as raw_table
from pipeline.stages.prepare import check, prepare
from tests.conftest import ROOT, committed


def params_for(path: str, target: str = "label", **data):
    return parse_params(
        {
            "data": {"path": path, "target": target, **data},
            "register": {"model_name": "m"},
            "mlflow": {"experiment": "e"},
        }
    )


def good_table(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 5, size=n),
            "label": np.where(np.arange(n) % 4 == 0, "yes", "no"),
        }
    )


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_prepare_writes_splits_and_schema(workdir, suffix):
    table = good_table()
    path = workdir / f"table{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path)
    schema = prepare(params_for(path.name))
    assert schema.features == ["a", "b"]
    assert schema.kinds == {"a": "numeric", "b": "numeric"}
    assert schema.class_labels == ["no", "yes"]
    assert schema.split_sizes == {"train": 65, "val": 15, "holdout": 20}
    written = json.loads((workdir / "data/prepared/schema.json").read_text())
    assert written["class_labels"] == ["no", "yes"]
    assert Schema.from_dict(written) == schema
    holdout = pd.read_parquet(workdir / "data/prepared/holdout.parquet")
    assert list(holdout.columns) == ["a", "b", "label"]
    assert (holdout["label"] == "yes").sum() == 5  # 25 % of 20, stratified


@pytest.mark.parametrize(
    ("frame", "target", "message"),
    [
        (good_table().drop(columns="label"), "label", "data.target 'label' is not a column"),
        (good_table().assign(label="one"), "label", "has 1 distinct value"),
        (good_table().assign(label=["x", "y"] + ["z"] * 98), "label", "class 'x' has only 1 row"),
        (good_table(8), "label", "class 'yes' has only 2 row"),
        (
            good_table().assign(a=lambda t: t["a"] * 1e39),
            "label",
            r"column\(s\) \['a'\] exceed the float32 range",
        ),
        (good_table().assign(label=None), "label", "has 0 distinct value"),
    ],
)
def test_bad_tables_are_refused_and_nothing_is_written(workdir, frame, target, message):
    frame.to_csv(workdir / "t.csv", index=False)
    with pytest.raises(PipelineError, match=message):
        prepare(params_for("t.csv", target))
    assert not (workdir / "data/prepared/schema.json").exists()


def test_a_real_valued_target_is_a_regression_split_across_its_range(workdir):
    table = good_table().assign(label=np.linspace(0.5, 50.5, 100))
    table.to_csv(workdir / "t.csv", index=False)
    schema = prepare(params_for("t.csv"))
    assert (schema.task, schema.class_labels) == ("regression", [])
    assert schema.task_reason == "auto: 100 distinct real values (with fractional parts)"
    holdout = pd.read_parquet(workdir / "data/prepared/holdout.parquet")["label"]
    assert len(holdout) == 20 and holdout.min() < 10.5 and holdout.max() > 40.5  # every quintile


def messy_table(n: int = 200) -> pd.DataFrame:
    """A table as people have them: an id, names, text with gaps, a fifth of a number missing,
    booleans, a constant, dates, integer codes, and a few rows without a label."""
    rng = np.random.default_rng(1)
    age = rng.normal(40, 12, n).round(1)
    age[rng.permutation(n)[: n // 5]] = np.nan
    port = rng.choice(["S", "C", "Q"], n).astype(object)
    port[[2, 9, 11]] = None
    survived = (np.arange(n) % 3 == 0).astype(float)
    survived[[4, 50]] = np.nan
    return pd.DataFrame(
        {
            "PassengerId": np.arange(1, n + 1),
            "Name": [f"Passenger {i}, Mr {rng.integers(10**6)}" for i in range(n)],
            "Port": port,
            "Age": age,
            "Class": rng.integers(1, 4, n),
            "Alone": rng.choice([True, False], n),
            "Ship": "Titanic",
            "Boarded": pd.date_range("1912-04-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
            "Survived": survived,
        }
    )


def test_a_messy_table_runs_with_only_its_path_and_target(workdir, capsys):
    messy_table().to_csv(workdir / "t.csv", index=False)
    schema = prepare(params_for("t.csv", "Survived"))
    assert schema.dropped == {
        "PassengerId": "unique per row (an identifier)",
        "Name": "unique per row (an identifier or a name: 200 distinct values)",
        "Ship": "constant (every row holds 'Titanic')",
        "Boarded": "a date (list it in data.categorical to use its values as categories)",
    }
    assert schema.kinds == {"Port": "categorical", "Age": "numeric", "Class": "numeric", "Alone": "boolean"}
    assert {c.name: c.missing for c in schema.columns if c.missing} == {"Port": 3, "Age": 40}
    assert schema.missing_policy == "impute"
    assert schema.dropped_rows == {"missing_target": 2, "missing_values": 0}
    assert sum(schema.split_sizes.values()) == 198
    assert schema.class_labels == [0, 1]  # integers, though read as floats beside the missing ones
    out = capsys.readouterr().out
    assert "[prepare] dropped 'PassengerId': unique per row (an identifier)\n" in out
    assert "[prepare] dropped 'Ship': constant (every row holds 'Titanic')\n" in out
    assert "[prepare] kinds: numeric ['Age', 'Class']; boolean ['Alone']; categorical ['Port']\n" in out
    assert (
        "[prepare] missing values (data.missing = impute: imputed inside the model): 'Port' 3, 'Age' 40\n"
    ) in out
    assert "[prepare] rows left out: 2 with no target, 0 with a missing feature value" in out

    splits = {name: pq.read_table(workdir / f"data/prepared/{name}.parquet") for name in SPLITS}
    for split in splits.values():
        assert split.schema == pa.schema(
            [
                ("Port", pa.string()),
                ("Age", pa.float64()),
                ("Class", pa.float64()),
                ("Alone", pa.string()),
                ("Survived", pa.int64()),
            ]
        )
    everything = pa.concat_tables(splits.values()).to_pandas()
    # Missing stays missing (null, never ""); booleans are spelled as the model looks them up.
    assert everything["Port"].isna().sum() == 3 and (everything["Port"] != "").all()
    assert everything["Age"].isna().sum() == 40 - messy_table()["Age"].iloc[[4, 50]].isna().sum()
    assert set(everything["Alone"]) == {"true", "false"}
    assert set(everything["Port"].dropna()) == {"S", "C", "Q"}


def test_integer_codes_and_dates_as_categories_when_asked(workdir):
    # Port as a dictionary-encoded (pandas categorical) parquet column.
    messy_table().assign(Port=lambda t: t["Port"].astype("category")).to_parquet(workdir / "t.parquet")
    schema = prepare(
        params_for(
            "t.parquet", "Survived", categorical=["Class", "Boarded"], drop=["Alone"], numeric=["PassengerId"]
        )
    )
    assert schema.kinds == {
        "PassengerId": "numeric",
        "Port": "categorical",
        "Age": "numeric",
        "Class": "categorical",
        "Boarded": "categorical",
    }
    assert schema.dropped["Alone"] == "listed in data.drop"
    train = pd.read_parquet(workdir / "data/prepared/train.parquet")
    assert set(train["Class"]) == {"1", "2", "3"}  # category_text's spelling, not "1.0"
    assert train["Boarded"].iloc[0].startswith("1912-04-")
    assert set(train["Port"].dropna()) == {"S", "C", "Q"}


def test_drop_leaves_out_the_rows_missing_a_kept_feature_and_counts_them(workdir, capsys):
    table = messy_table()
    table.to_csv(workdir / "t.csv", index=False)
    schema = prepare(params_for("t.csv", "Survived", missing="drop"))
    has_target = table["Survived"].notna()
    complete = table["Age"].notna() & table["Port"].notna()
    assert schema.dropped_rows == {"missing_target": 2, "missing_values": int((has_target & ~complete).sum())}
    assert sum(schema.split_sizes.values()) == int((has_target & complete).sum())
    assert schema.missing_policy == "drop"
    everything = pd.concat(pd.read_parquet(workdir / f"data/prepared/{n}.parquet") for n in SPLITS)
    assert everything[["Port", "Age"]].notna().all().all()
    out = capsys.readouterr().out
    assert "missing values (data.missing = drop: their rows left out): 'Port' 3, 'Age' 40" in out


def test_refuse_names_each_column_and_its_count_and_writes_nothing(workdir):
    messy_table().to_csv(workdir / "t.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"feature column\(s\) with missing values \(empty, NaN or "
        r"infinite\): 'Port' \(3 missing, first in data row 3\), 'Age' "
        r"\(40 missing, first in data row \d+\)\. Fix: set data.missing "
        r"to impute",
    ):
        prepare(params_for("t.csv", "Survived", missing="refuse"))
    assert not (workdir / "data/prepared").exists()
    schema = prepare(params_for("t.csv", "Survived", missing="refuse", drop=["Port", "Age"]))
    assert schema.dropped_rows == {"missing_target": 2, "missing_values": 0}


def test_every_split_keeps_its_column_types_when_a_batch_is_all_missing(workdir, monkeypatch):
    monkeypatch.setattr(raw_table, "PARQUET_BATCH_ROWS", 16)
    table = messy_table()
    table.loc[:100, "Port"] = None  # the first batches hold no category at all
    table.loc[:100, "Age"] = np.nan
    table.to_parquet(workdir / "t.parquet")
    prepare(params_for("t.parquet", "Survived"))
    for name in SPLITS:
        split = pq.read_table(workdir / f"data/prepared/{name}.parquet")
        assert split.schema.field("Port").type == pa.string()
        assert split.schema.field("Age").type == pa.float64()


def test_the_check_writes_nothing_and_reports_the_rows(workdir, capsys):
    messy_table().to_csv(workdir / "t.csv", index=False)
    check(params_for("t.csv", "Survived"))
    assert "[prepare] t.csv: ok (200 rows, task binary)" in capsys.readouterr().out
    assert not (workdir / "data").exists()


def test_empty_file_and_unknown_format(workdir):
    (workdir / "empty.csv").write_text("")
    with pytest.raises(DataError, match="the table is empty"):
        prepare(params_for("empty.csv"))
    (workdir / "t.xlsx").write_text("x")
    with pytest.raises(DataError, match=r"unsupported file type '.xlsx'. Fix: use a .csv or .parquet"):
        prepare(params_for("t.xlsx"))
    with pytest.raises(DataError, match="'missing.csv' does not exist"):
        prepare(params_for("missing.csv"))


def test_cli_exits_2_with_one_clear_line(workdir):
    params = committed("params.yaml").decode().replace("path: data/raw/breast_cancer.csv", "path: t.csv")
    (workdir / "params.yaml").write_text(params)
    good_table().to_csv(workdir / "t.csv", index=False)  # its label column is `label`
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.stages.prepare"],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2
    assert "[prepare] error: t.csv: data.target 'target' is not a column" in done.stderr
    assert "Traceback" not in done.stderr
