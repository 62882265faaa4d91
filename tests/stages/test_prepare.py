"""The prepare stage on real files: good tables split, bad tables refused with nothing written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import parse_params
from pipeline.core.errors import DataError, PipelineError
from pipeline.stages.prepare import prepare
from tests.conftest import ROOT


def params_for(path: str, target: str = "label", **data):
    return parse_params({
        "data": {"path": path, "target": target, **data},
        "register": {"model_name": "m"},
        "mlflow": {"experiment": "e"},
    })


def good_table(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, size=n),
                         "label": np.where(np.arange(n) % 4 == 0, "yes", "no")})


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
    assert schema.class_labels == ["no", "yes"]
    assert schema.split_sizes == {"train": 65, "val": 15, "holdout": 20}
    written = json.loads((workdir / "data/prepared/schema.json").read_text())
    assert written["class_labels"] == ["no", "yes"]
    holdout = pd.read_parquet(workdir / "data/prepared/holdout.parquet")
    assert list(holdout.columns) == ["a", "b", "label"]
    assert (holdout["label"] == "yes").sum() == 5  # 25 % of 20, stratified


@pytest.mark.parametrize(
    ("frame", "target", "message"),
    [
        (good_table().drop(columns="label"), "label", "data.target 'label' is not a column"),
        (good_table().assign(a="text"), "label", r"not numbers: 'a' \(text\)"),
        (good_table().assign(label="one"), "label", "has 1 distinct value"),
        (good_table().assign(label=["x", "y"] + ["z"] * 98), "label", "class 'x' has only 1 row"),
        (good_table(8), "label", "class 'yes' has only 2 row"),
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


def test_text_columns_one_hot_encoded_when_params_say_so(workdir):
    table = good_table().assign(colour=["red", "green"] * 50, when=pd.Timestamp("2024-01-01"))
    table.to_parquet(workdir / "t.parquet")
    schema = prepare(params_for("t.parquet", non_numeric="one_hot"))
    assert schema.features == ["a", "b", "colour=green", "colour=red"]
    assert (schema.one_hot, schema.dropped) == ({"colour": ["green", "red"]}, {"when": "date"})
    train = pd.read_parquet(workdir / "data/prepared/train.parquet")
    assert set(train["colour=green"] + train["colour=red"]) == {1.0}


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
    shutil.copy(ROOT / "params.yaml", workdir / "params.yaml")
    params = (workdir / "params.yaml").read_text().replace(
        "path: data/raw/breast_cancer.csv", "path: t.csv")
    (workdir / "params.yaml").write_text(params)
    good_table().to_csv(workdir / "t.csv", index=False)  # its label column is `label`
    done = subprocess.run([sys.executable, "-m", "pipeline.stages.prepare"], cwd=workdir,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert "[prepare] error: t.csv: data.target 'target' is not a column" in done.stderr
    assert "Traceback" not in done.stderr
