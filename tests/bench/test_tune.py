"""bench.tune's table: holdout figures as errors or R², and the issue's goal judged per data set."""

from __future__ import annotations

from bench.tune import goal_met, holdout_metric, report


def result(task, tuned, best_baseline, rows=36):
    key = "r2" if task == "regression" else "accuracy"
    return {
        "dataset": "wine",
        "task": task,
        "rows": rows,
        "default": {key: 0.9},
        "lr_find": {key: 0.95},
        "lr_find_rate": 0.01,
        "tuned": {key: tuned},
        "tuned_config": "adam lr 0.003 bs 32 64x32 dropout 0.10",
        "tune_s": 181.4,
        "baselines": {"logistic": {key: best_baseline}, "HistGradientBoosting": {key: 0.1}},
    }


def test_holdout_metric():
    assert holdout_metric({"accuracy": 34 / 36}, "multiclass", 36) == "0.944 (2 err)"
    assert holdout_metric({"r2": 0.4171}, "regression", 89) == "R² 0.417"


def test_goal_within_one_holdout_error_or_0_01_r2():
    assert goal_met(result("multiclass", 35 / 36, 1.0))
    assert not goal_met(result("multiclass", 34 / 36, 1.0))
    assert goal_met(result("regression", 0.41, 0.419))
    assert not goal_met(result("regression", 0.40, 0.419))


def test_report_table():
    table = report([result("multiclass", 1.0, 1.0)], 180, 200, "python -m bench.tune --datasets wine")
    assert table.splitlines()[-1] == (
        "| wine | 0.900 (4 err) | 0.950 (2 err) (0.01) | 1.000 (0 err) "
        "(adam lr 0.003 bs 32 64x32 dropout 0.10; 181 s) | 1.000 (0 err) | 0.100 (32 err) | met |"
    )
    header = "| data set | default | lr-find (rate) | tuned (configuration, search time) | logistic / ridge |"
    assert header in table


def test_a_classification_and_a_regression_share_the_linear_column():
    regression = result("regression", 0.39, 0.3935, rows=89)
    regression["dataset"] = "diabetes"
    regression["baselines"] = {"ridge": {"r2": 0.3935}, "HistGradientBoosting": {"r2": 0.274}}
    table = report([result("multiclass", 1.0, 1.0), regression], 900, 500, "python -m bench.tune")
    assert "| logistic / ridge | HistGradientBoosting |" in table
    assert table.splitlines()[-1] == (
        "| diabetes | R² 0.900 | R² 0.950 (0.01) | R² 0.390 (adam lr 0.003 bs 32 64x32 dropout 0.10; 181 s) "
        "| R² 0.394 | R² 0.274 | met |"
    )
