"""`make tune`: a seeded study, and a small real search whose winner `dvc repro` retrains.

The real search runs `python -m pipeline.tune` in a copy of the project (4 trials of 3 epochs on
breast cancer, the holdout split moved out of reach), with a median pruner that prunes a trial as
soon as it trails the first one: the parent run, a child run per trial, pruned and complete trials,
the best configuration in params.yaml, and `dvc repro train` training exactly it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pytest
import yaml
from mlflow import MlflowClient

from pipeline.core.config import parse_params
from pipeline.core.search import overrides
from pipeline.tune import open_study, pruner, start_from_current, storage_path, suggest
from tests.conftest import ROOT, make_project, run_ok, tool_env

MINIMAL = {
    "data": {"path": "t.csv", "target": "y"},
    "register": {"model_name": "m"},
    "mlflow": {"experiment": "e"},
}


def params(**tune):
    return parse_params({**MINIMAL, "tune": {"startup_trials": 3, **tune}})


def drawn(study: optuna.Study, trials: int) -> list[dict]:
    """The configurations a study draws, with a made-up objective that depends on them (TPE models it)."""
    settings = params().tune

    def objective(trial):
        chosen = overrides(suggest(trial, settings))
        return chosen["train.learning_rate"] * 100 + chosen["model.dropout"] + chosen["train.batch_size"] / 64

    study.optimize(objective, n_trials=trials)
    return [overrides(t.params) for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


def test_the_same_seed_and_budget_give_the_same_trials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    first = drawn(open_study(params(), "a"), 6)  # 3 at random, then 3 from TPE
    assert storage_path(params().tune).exists()
    again = drawn(open_study(params(), "a", fresh=True), 6)
    other_seed = drawn(
        open_study(parse_params({**MINIMAL, "base": {"seed": 1}, "tune": {"startup_trials": 3}}), "b"), 6
    )
    assert first == again
    assert first != other_seed
    assert len({json.dumps(t, sort_keys=True) for t in first}) == 6
    for trial in first:
        assert 1e-4 <= trial["train.learning_rate"] <= 3e-2 and 0 <= trial["model.dropout"] <= 0.3
        assert trial["model.hidden_units"] in [[32, 16], [64, 32], [128, 64], [64]]


def test_a_new_study_first_tries_the_current_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    current = parse_params(
        {**MINIMAL, "train": {"learning_rate": 0.002, "batch_size": 64}, "tune": {"startup_trials": 3}}
    )
    study = open_study(current, "a")
    assert start_from_current(study, current) == "trial 0 is the current configuration (params.yaml)"
    trials = drawn(study, 3)
    assert trials[0] == {
        "train.learning_rate": 0.002,
        "train.optimizer": current.train.optimizer,
        "train.batch_size": 64,
        "model.hidden_units": current.model.hidden_units,
        "model.dropout": current.model.dropout,
    }
    assert len(study.trials) == 3 and trials[1] != trials[0]


def test_a_second_run_continues_the_study_and_fresh_starts_it_anew(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    drawn(open_study(params(), "a"), 2)
    assert len(open_study(params(), "a").trials) == 2
    assert len(open_study(params(), "a", fresh=True).trials) == 0


SHARE = """
import optuna
from pipeline.core.config import parse_params
from pipeline.tune import open_study, suggest
optuna.logging.set_verbosity(optuna.logging.WARNING)
params = parse_params({
    "data": {"path": "t.csv", "target": "y"}, "register": {"model_name": "m"}, "mlflow": {"experiment": "e"}
})
open_study(params, "shared").optimize(lambda trial: suggest(trial, params.tune)["dropout"], n_trials=5)
"""


def test_two_processes_share_one_study(tmp_path):
    """The journal file takes trials from several processes at once: none lost, none numbered twice."""
    env = tool_env(PYTHONPATH=str(ROOT))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", SHARE], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read() if worker.stderr else ""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        trials = open_study(params(), "shared").trials
    assert sorted(t.number for t in trials) == list(range(10))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("median", optuna.pruners.MedianPruner),
        ("successive_halving", optuna.pruners.SuccessiveHalvingPruner),
        ("none", optuna.pruners.NopPruner),
    ],
)
def test_pruner_kinds(kind, expected):
    assert type(pruner(params(pruner=kind).tune)) is expected


TUNE = {
    "train.epochs": 3,
    "tune.n_trials": 4,
    "tune.epochs": 3,
    "tune.startup_trials": 4,
    # The first trial completes; each later one is pruned at the first epoch it trails it.
    "tune.pruner_startup_trials": 1,
    "tune.pruner_warmup_epochs": 0,
    "tune.space.hidden_units": [[16], [32, 16]],
}


@pytest.mark.integration
def test_a_small_search_logs_its_trials_and_dvc_repro_retrains_the_winner(tmp_path):
    repo = make_project(tmp_path, TUNE)
    before = yaml.safe_load((repo / "params.yaml").read_text())
    env = tool_env()
    run_ok(["dvc", "repro", "prepare"], repo, env)
    holdout = repo / "data/prepared/holdout.parquet"
    holdout.rename(tmp_path / "holdout.parquet")  # the search must not need it
    done = run_ok([sys.executable, "-m", "pipeline.tune"], repo, env)
    (tmp_path / "holdout.parquet").rename(holdout)
    assert "[tune] written into params.yaml" in done.stdout
    assert "[tune] trial 0 is the current configuration (params.yaml)" in done.stdout

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("keras-tabular")
    (parent,) = client.search_runs(
        [experiment.experiment_id], "tags.job = 'tune' and tags.tune.study LIKE 'tune-%'"
    )
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert len(children) == 4
    states = {int(c.data.tags["tune.trial"]): c.data.tags["tune.state"] for c in children}
    assert states[0] == "complete"
    assert "pruned" in states.values()
    assert parent.data.metrics["trials_complete"] + parent.data.metrics["trials_pruned"] == 4
    assert parent.data.metrics["trials_pruned"] == list(states.values()).count("pruned")
    for child in children:
        assert set(child.data.params) == {
            "train.learning_rate",
            "train.optimizer",
            "train.batch_size",
            "model.hidden_units",
            "model.dropout",
        }
        epochs = [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")]
        if child.data.tags["tune.state"] == "complete":
            assert epochs == [1, 2, 3] and "best_val_loss" in child.data.metrics
        else:
            assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) < 3

    (first,) = [c for c in children if int(c.data.tags["tune.trial"]) == 0]
    assert first.data.params == {  # the configuration the project had
        key: str(before[key.split(".")[0]][key.split(".")[1]]) for key in first.data.params
    }
    assert len(first.data.params) == 5

    best_number = int(parent.data.tags["tune.best_trial"])
    (best,) = [c for c in children if int(c.data.tags["tune.trial"]) == best_number]
    complete = [c for c in children if c.data.tags["tune.state"] == "complete"]
    assert best.data.metrics["best_val_loss"] == min(c.data.metrics["best_val_loss"] for c in complete)
    written = yaml.safe_load((repo / "params.yaml").read_text())
    for key, value in best.data.params.items():
        section, name = key.split(".")
        assert str(written[section][name]) == value
        assert parent.data.params[f"best.{key}"] == value

    # Up to train (evaluate and register read only what train writes, as after any params change:
    # tests/test_pipeline.py runs them): the suite's time budget.
    run_ok(["dvc", "repro", "train"], repo, env)
    run_id = json.loads((repo / "reports/train/run.json").read_text())["run_id"]
    trained = client.get_run(run_id).data.params
    for key, value in best.data.params.items():
        assert trained[key] == value
    status = subprocess.run(["dvc", "status", "train"], cwd=repo, env=env, capture_output=True, text=True)
    assert "up to date" in status.stdout, status.stdout
