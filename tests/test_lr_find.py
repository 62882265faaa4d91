"""`python -m pipeline.lr_find` on a provoked case: a table where 1e-1 diverges and 1e-5 crawls.

Real short fits (SGD with momentum on a small regression whose target spread makes large steps
explode), read with the real diagnosis, logged to a real MLflow store; the recommendation must land
strictly between the two ends of the ladder, and the holdout split is never read.
"""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import parse_params
from pipeline.core.errors import PipelineError
from pipeline.lr_find import FIGURE, RESULT, find, main
from pipeline.stages.prepare import prepare


def params(**lr_find):
    return parse_params(
        {
            "data": {"path": "t.csv", "target": "y"},
            "train": {"optimizer": "sgd", "batch_size": 32},
            "model": {"dropout": 0.0},  # no dropout noise: a crawling curve is smooth
            "register": {"model_name": "m"},
            "mlflow": {"experiment": "lr-find-test"},
            "lr_find": {"epochs": 5, **lr_find},
        }
    )


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A prepared regression table, its holdout split moved out of reach."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    frame = pd.DataFrame(x, columns=list("abcd"))
    frame["y"] = x @ np.array([1.0, -2.0, 0.5, 1.5]) + 0.1 * rng.normal(size=400)
    frame.to_csv("t.csv", index=False)
    prepare(params())
    (tmp_path / "data/prepared/holdout.parquet").rename(tmp_path / "holdout.parquet")
    return tmp_path


def test_the_recommendation_lands_between_a_diverging_and_a_crawling_rate(project, capsys):
    chosen = find(params())
    report = json.loads(RESULT.read_text())
    by_rate = {r["rate"]: r for r in report["rates"]}
    assert sorted(by_rate) == [1e-05, 0.0001, 0.001, 0.01, 0.1]
    assert (by_rate[0.1]["group"], by_rate[0.1]["verdict"]) == ("unstable", "diverged")
    assert by_rate[0.1]["reason"].startswith("the training loss")  # the divergence guard's words
    assert by_rate[1e-05]["group"] == "too slow"
    assert 1e-05 < chosen.rate < 0.1
    # A tried rate read as reasonable, or (none was) a rate between the fastest slow one and the
    # first unstable one above it: never a rate the curves condemned.
    if chosen.rate in by_rate:
        assert by_rate[chosen.rate]["group"] == "reasonable"
    else:
        slow = max(r for r, row in by_rate.items() if row["group"] == "too slow" and r < chosen.rate)
        unstable = min(r for r, row in by_rate.items() if row["group"] == "unstable" and r > chosen.rate)
        assert not any(slow < r < unstable for r in by_rate), (slow, unstable)
    assert report["recommended"] == chosen.rate and report["reason"] == chosen.reason
    assert report["skipped"] == []
    assert FIGURE.stat().st_size > 10_000

    out = capsys.readouterr().out
    assert f"[lr-find] next: dvc exp run -S train.learning_rate={chosen.rate!r}\n" in out
    assert f"[lr-find] recommended learning rate {chosen.rate:g}: {chosen.reason}" in out

    client = mlflow.MlflowClient()
    parent = client.get_run(report["run_id"])
    assert parent.data.tags["job"] == "lr_find" and parent.data.tags["lr_find.rule"] == chosen.rule
    assert parent.data.metrics["recommended_learning_rate"] == chosen.rate
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "lr_find")} == {
        "lr_find/curves.png",
        "lr_find/lr_find.json",
    }
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(float(c.data.params["train.learning_rate"]) for c in children) == sorted(by_rate)
    for child in children:
        rate = float(child.data.params["train.learning_rate"])
        assert child.data.tags["lr_find.group"] == by_rate[rate]["group"]
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")]
        assert steps == list(range(1, by_rate[rate]["epochs"] + 1))


def test_a_budget_too_small_to_judge_any_rate_says_so(project):
    with pytest.raises(PipelineError, match="every fit was cut short by the time budget"):
        find(params(budget_s=0.001))


def test_without_prepared_splits_the_command_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(
        "data: {path: t.csv, target: y}\nregister: {model_name: m}\nmlflow: {experiment: e}\n"
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "Fix: run `dvc repro prepare` first" in capsys.readouterr().err
