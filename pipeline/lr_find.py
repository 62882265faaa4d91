"""`make lr-find` (`python -m pipeline.lr_find`): the Keras workflow's learning-rate loop, as one command.

One short fit per rate of a ladder (`lr_find` in params.yaml; everything else as `train` and `model`
say), on the prepared training split with the validation split for val_loss. Each curve is read with
the pipeline's diagnosis and called unstable, too slow or reasonable; core/lr_choice.py recommends a
rate and says why. All curves go into one figure (reports/lr_find/curves.png) and one MLflow run (a
child run per rate), and the command to train with the rate is printed. The holdout split is never read.

    make lr-find                         # dvc repro prepare, then this
    python -m pipeline.lr_find           # on the prepared splits as they are
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from pipeline.core.config import Params, flatten
from pipeline.core.diagnosis import diagnose
from pipeline.core.errors import PipelineError
from pipeline.core.lr_choice import Recommendation, Rung, ladder, recommend, visit_order
from pipeline.core.search import apply, exp_run_command
from pipeline.io import child_runs, provenance, tracking
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.files import write_json
from pipeline.io.lr_figure import plot_rate_curves
from pipeline.io.params import load_params
from pipeline.short_fit import Fit, fit, prepared

REPORTS = Path("reports/lr_find")
FIGURE = REPORTS / "curves.png"
RESULT = REPORTS / "lr_find.json"


def find(params: Params) -> Recommendation:
    settings = params.lr_find
    data = prepared(params)
    rates = ladder(settings.min_lr, settings.max_lr, settings.rates_per_decade)
    deadline = time.monotonic() + settings.budget_s
    from pipeline.ml.steering import Deadline

    train = params.train
    name = f"lr-find:{Path(params.data.path).stem}-{train.optimizer}-bs{train.batch_size}"
    tags = {"job": "lr_find", "data_hash": data.schema.data_hash, "git_commit": provenance.git_commit()}
    rungs: list[Rung] = []
    curves: dict[float, list[dict[str, float]]] = {}
    skipped: list[float] = []
    with tracking.new_run(params.mlflow.experiment, name, tags) as run_id:
        tracking.log_params(
            {
                **flatten({"lr_find": params.lr_find.model_dump(mode="json")}),
                **flatten({"train": train.model_dump(mode="json", exclude={"learning_rate"})}),
                **flatten({"model": params.model.model_dump(mode="json")}),
            }
        )
        for rate in visit_order(rates, train.learning_rate):
            if time.monotonic() >= deadline:
                skipped.append(rate)
                continue
            stop = Deadline(deadline)
            result = fit(apply(params, {"train.learning_rate": rate}), data, settings.epochs, [stop])
            rung = _read(rate, result, settings.epochs)
            rungs.append(rung)
            curves[rate] = result.history
            _log_rung(rung, result)
            print(
                f"[lr-find] {rate:<8g} {rung.group:<10} {rung.verdict:<12} best val_loss "
                f"{rung.best_val_loss:.4g} in {result.seconds:.1f} s: {rung.reason}"
            )
        try:
            chosen = recommend(rungs)
        except ValueError as exc:
            raise PipelineError(str(exc)) from None
        groups = {r.rate: r.group for r in rungs}
        plot_rate_curves(curves, groups, chosen.rate, FIGURE)
        command = exp_run_command({"train.learning_rate": chosen.rate})
        write_json(
            RESULT,
            {
                "run_id": run_id,
                "recommended": chosen.rate,
                "rule": chosen.rule,
                "reason": chosen.reason,
                "command": command,
                "skipped": sorted(skipped),
                "rates": [
                    {
                        "rate": r.rate,
                        "group": r.group,
                        "verdict": r.verdict,
                        "reason": r.reason,
                        "best_val_loss": r.best_val_loss if math.isfinite(r.best_val_loss) else None,
                        "epochs": r.epochs,
                    }
                    for r in sorted(rungs, key=lambda r: r.rate)
                ],
            },
        )
        tracking.log_artifact(FIGURE, "lr_find")
        tracking.log_artifact(RESULT, "lr_find")
        tracking.log_metrics({"recommended_learning_rate": chosen.rate})
        tracking.set_tags(
            {"lr_find.rule": chosen.rule, "lr_find.reason": chosen.reason, "lr_find.command": command}
        )
    if skipped:
        print(
            f"[lr-find] not reached within lr_find.budget_s = {settings.budget_s:g} s: "
            f"{', '.join(f'{r:g}' for r in sorted(skipped))}"
        )
    print(f"[lr-find] recommended learning rate {chosen.rate:g}: {chosen.reason}")
    print(f"[lr-find] curves: {FIGURE}; MLflow run {run_id}")
    print(f"[lr-find] next: {command}")
    return chosen


def _read(rate: float, result: Fit, planned: int) -> Rung:
    diagnosis = diagnose(result.columns())
    reason = f"{result.diverged}." if result.diverged else diagnosis.reason
    return Rung(rate, diagnosis.verdict, reason, result.best_val_loss, len(result.history), planned)


def _log_rung(rung: Rung, result: Fit) -> None:
    tags = {"lr_find.group": rung.group, "diagnosis": rung.verdict, "diagnosis.reason": rung.reason}
    with child_runs.child_run(f"lr={rung.rate:g}", tags):
        tracking.log_params({"train.learning_rate": rung.rate})
        child_runs.log_epochs(result.history)
        if math.isfinite(rung.best_val_loss):
            tracking.log_metrics({"best_val_loss": rung.best_val_loss})


def main() -> None:
    run_stage("lr-find", lambda: find(load_params()))


if __name__ == "__main__":
    run_and_exit(main)
