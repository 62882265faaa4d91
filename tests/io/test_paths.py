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
    for data in (paths.ROC, paths.PR, paths.CONFUSION, paths.PER_CLASS, paths.RESIDUALS):
        assert data.parent == paths.EVAL_PLOTS


def test_plots_name_only_what_every_task_writes():
    """A plot naming a file that some task leaves out makes `dvc plots show` warn: the task's own
    holdout plots are drawn from the folder of figures, which holds only those."""
    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    named = set()
    for plot in plots:
        if isinstance(plot, str):
            named.add(plot)
            continue
        (plot_id, props), *_ = plot.items()
        named.update(props["y"] if isinstance(props.get("y"), dict) else [plot_id])
    assert named == {str(paths.HISTORY), str(paths.CURVES), str(paths.FIGURES)}


def test_prepare_and_register_outputs_match():
    assert names(stage("prepare")["outs"]) == {str(paths.PREPARED_DIR)}
    assert names(stage("register")["outs"]) == {str(paths.REGISTRATION)}
    assert paths.SCHEMA.parent == paths.PREPARED_DIR
    assert paths.BEST_CHECKPOINT.parent == paths.CHECKPOINT_DIR


def test_register_depends_on_everything_evaluate_writes():
    """Register records evaluate's files on the MLflow run: a change to any of them reruns it."""
    evaluate = stage("evaluate")
    assert names(evaluate["outs"]) | names(evaluate["metrics"]) <= set(stage("register")["deps"])
