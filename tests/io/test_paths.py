"""dvc.yaml and pipeline/io/paths.py must name the same files, or DVC tracks the wrong ones."""

import yaml

from pipeline.io import paths
from tests.conftest import ROOT


def stage(name: str) -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name]


def names(entries: list) -> set[str]:
    return {next(iter(e)) if isinstance(e, dict) else e for e in entries}


def test_train_outputs_match():
    outs = names(stage("train")["outs"])
    assert {
        str(paths.MODEL),
        str(paths.CONTRACT),
        str(paths.CURVES),
        str(paths.RUN),
        str(paths.HISTORY),
        str(paths.DIAGNOSIS),
        str(paths.CHECKPOINT_DIR),
    } == outs


def test_evaluate_outputs_match():
    evaluate = stage("evaluate")
    assert names(evaluate["metrics"]) == {str(paths.METRICS)}
    assert names(evaluate["outs"]) == {
        str(p) for p in (paths.THRESHOLD, paths.PREDICTIONS, paths.EVAL_PLOTS, paths.FIGURES)
    }
    plots = str(yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"])
    for data in (paths.ROC, paths.PR, paths.CONFUSION, paths.PER_CLASS, paths.RESIDUALS):
        assert data.parent == paths.EVAL_PLOTS
        assert str(data) in plots, f"{data} is written but never plotted"


def test_prepare_and_register_outputs_match():
    assert names(stage("prepare")["outs"]) == {str(paths.PREPARED_DIR)}
    assert names(stage("register")["outs"]) == {str(paths.REGISTRATION)}
    assert paths.SCHEMA.parent == paths.PREPARED_DIR
    assert paths.BEST_CHECKPOINT.parent == paths.CHECKPOINT_DIR
