"""`make tune` (`python -m pipeline.tune`): a reproducible search for a good configuration.

Optuna's TPE sampler (seeded with base.seed) draws learning rate (log-uniform), optimizer, batch size,
layer widths and dropout from the space in params.yaml's `tune` section; each trial is a short fit as
the train stage would run it (its early stopping and learning-rate schedule included), on the prepared
training split with the validation split for val_loss, the value minimised. After each epoch a Keras
callback reports val_loss to the pruner (median or successive halving), which stops trials clearly
behind. The holdout split is never read: it stays the judge of the winner.

The study lives in a file beside the tracking store (tune.storage, Optuna's journal), named after the
data, the space, the seed and every param the search leaves alone: several `make tune` processes at
once share the trials of one study, and a second `make tune` continues it (a larger tune.n_trials adds
trials). Everything goes to MLflow: one parent run per process, a child run per trial (its params,
curves, state pruned or complete, value). The best configuration is written into params.yaml (train
and model), so `dvc repro` retrains exactly it and the registry gate decides as for any run.

    make tune                    # dvc repro prepare, then this
    python -m pipeline.tune      # --fresh: start this configuration's study afresh
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from pipeline.core.config import Params, Tune, flatten
from pipeline.core.diagnosis import diagnose
from pipeline.core.errors import PipelineError
from pipeline.core.search import (
    apply,
    budget_summary,
    current_choice,
    exp_run_command,
    overrides,
    study_name,
    units_key,
)
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.params import load_params
from pipeline.io.params_update import set_values

if TYPE_CHECKING:
    from pipeline.short_fit import Prepared

PRUNED, COMPLETE = "pruned", "complete"


def storage_path(tune: Tune) -> Path:
    """tune.storage at the repository's root, where mlflow.db is (DVC_ROOT under `dvc exp run`)."""
    return Path(os.environ.get("DVC_ROOT", ".")) / tune.storage


def open_study(params: Params, name: str, fresh: bool = False) -> optuna.Study:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(storage_path(params.tune))))
    if fresh and name in optuna.get_all_study_names(storage):
        optuna.delete_study(study_name=name, storage=storage)
    return optuna.create_study(
        storage=storage,
        study_name=name,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(
            seed=params.base.seed, n_startup_trials=params.tune.startup_trials
        ),
        pruner=pruner(params.tune),
        load_if_exists=True,
    )


def pruner(tune: Tune) -> optuna.pruners.BasePruner:
    if tune.pruner == "median":
        return optuna.pruners.MedianPruner(
            # Steps are 1-based epochs; a step below n_warmup_steps is never pruned.
            n_startup_trials=tune.pruner_startup_trials,
            n_warmup_steps=tune.pruner_warmup_epochs + 1,
        )
    if tune.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def suggest(trial: optuna.Trial, tune: Tune) -> dict[str, Any]:
    """One configuration from the space, in Optuna's names (core/search.py turns them into params)."""
    space = tune.space
    return {
        "learning_rate": trial.suggest_float(
            "learning_rate", space.learning_rate.low, space.learning_rate.high, log=True
        ),
        "optimizer": trial.suggest_categorical("optimizer", space.optimizer),
        "batch_size": trial.suggest_categorical("batch_size", space.batch_size),
        "hidden_units": trial.suggest_categorical("hidden_units", [units_key(u) for u in space.hidden_units]),
        "dropout": trial.suggest_float("dropout", space.dropout.low, space.dropout.high),
    }


def objective(params: Params, data: Prepared):
    """The study's objective: fit one trial's configuration, log it as a child run, return its best
    val_loss, or raise TrialPruned when the pruner stopped it or it diverged."""
    from pipeline.io import child_runs, tracking
    from pipeline.ml.steering import EpochReport
    from pipeline.short_fit import fit

    def run_trial(trial: optuna.Trial) -> float:
        changes = overrides(suggest(trial, params.tune))
        name = f"trial {trial.number}: " + " ".join(f"{k.split('.')[1]}={v}" for k, v in changes.items())

        def judge(epoch: int, logs: Mapping[str, float]) -> bool:
            value = float(logs["val_loss"])
            if not math.isfinite(value):
                return False  # the divergence guard ends the fit
            trial.report(value, epoch)
            return trial.should_prune()

        report = EpochReport(judge)
        with child_runs.child_run(name, {"job": "tune", "tune.trial": trial.number}):
            tracking.log_params(changes)
            result = fit(apply(params, changes), data, params.tune.epochs, [report], like_train=True)
            child_runs.log_epochs(result.history)
            value = result.best_val_loss
            if result.diverged or report.stopped_at is not None:
                why = result.diverged or f"pruned after epoch {report.stopped_at}: behind the other trials"
                tracking.set_tags({"tune.state": PRUNED, "tune.reason": why})
            else:
                verdict = diagnose(result.columns()).verdict
                tracking.set_tags({"tune.state": COMPLETE, "diagnosis": verdict})
                tracking.log_metrics({"best_val_loss": value, "epochs_run": len(result.history)})
        print(
            f"[tune] trial {trial.number}: {'pruned' if result.diverged or report.stopped_at else 'complete'}"
            f", best val_loss {value:.4g} in {len(result.history)} epochs, {result.seconds:.1f} s ({name})"
        )
        if result.diverged or report.stopped_at is not None:
            raise optuna.TrialPruned(result.diverged or f"pruned after epoch {report.stopped_at}")
        return value

    return run_trial


def start_from_current(study: optuna.Study, params: Params) -> str:
    """Queue params.yaml's own configuration as the study's first trial, when `tune.space` holds
    it: the search then compares its winner with what the user already trains. Say which."""
    first, why = current_choice(params)
    if first is not None:
        # Another process starting the same study at once queues it only once.
        study.enqueue_trial(first, skip_if_exists=True)
    return why


def search(params: Params, fresh: bool = False) -> dict[str, Any]:
    """Run this process's share of the study; write and return the best configuration."""
    # Imported here: opening a study (a worker, a test) needs neither MLflow nor the train stage.
    from pipeline.io import provenance, tracking
    from pipeline.short_fit import prepared

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = prepared(params)
    name = study_name(params, data.schema.data_hash)
    study = open_study(params, name, fresh)
    settings = params.tune
    tags = {
        "job": "tune",
        "tune.study": name,
        "tune.storage": settings.storage,
        "data_hash": data.schema.data_hash,
        "git_commit": provenance.git_commit(),
    }
    print(f"[tune] study {name} in {storage_path(settings)}: {budget_summary(settings)}")
    with tracking.new_run(params.mlflow.experiment, f"tune:{name}", tags) as run_id:
        tracking.log_params(flatten({"tune": settings.model_dump(mode="json")}))
        remaining = settings.n_trials - len(study.trials)
        if not study.trials:
            print(f"[tune] {start_from_current(study, params)}")
        if remaining > 0:
            study.optimize(
                objective(params, data),
                n_trials=remaining,
                timeout=settings.timeout_s,
                # With other processes on the same study: stop when the study as a whole has its trials.
                callbacks=[optuna.study.MaxTrialsCallback(settings.n_trials, states=None)],
            )
        else:
            done = len(study.trials)
            print(f"[tune] the study already has {done} trials (tune.n_trials = {settings.n_trials})")
        states = [t.state for t in study.trials]
        counts = {
            "trials_complete": states.count(optuna.trial.TrialState.COMPLETE),
            "trials_pruned": states.count(optuna.trial.TrialState.PRUNED),
            "trials_failed": states.count(optuna.trial.TrialState.FAIL),
        }
        tracking.log_metrics(counts)
        if not counts["trials_complete"]:
            raise PipelineError(
                f"no trial of study {name} completed ({counts['trials_pruned']} pruned). Fix: raise "
                "tune.n_trials or tune.timeout_s, or tune.pruner_warmup_epochs so fewer are pruned."
            )
        best = study.best_trial
        changes = overrides(best.params)
        tracking.log_params({f"best.{key}": value for key, value in changes.items()})
        best_value = float(best.values[0])
        tracking.log_metrics({"best_val_loss": best_value})
        tracking.set_tags({"tune.best_trial": best.number, "tune.command": exp_run_command(changes)})
    print(
        f"[tune] {counts['trials_complete']} complete, {counts['trials_pruned']} pruned; best: trial "
        f"{best.number}, val_loss {best_value:.4g}: " + ", ".join(f"{k}={v}" for k, v in changes.items())
    )
    print(f"[tune] MLflow run {run_id} (a child run per trial)")
    if settings.write_params:
        set_values(changes)
        print("[tune] written into params.yaml: `dvc repro` retrains it, and the gate decides")
    else:
        print(f"[tune] to train it: {exp_run_command(changes)}")
    return changes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="delete this configuration's study first")
    args = parser.parse_args(argv)
    run_stage("tune", lambda: search(load_params(), fresh=args.fresh))


if __name__ == "__main__":
    run_and_exit(main)
