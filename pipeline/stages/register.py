"""Stage `register`: record evaluate's results on the run, log the model MLflow consumers
load, register it as a new version, and move the `champion` alias only if it earns it."""

from __future__ import annotations

import tempfile

from pipeline.core.baseline import compare
from pipeline.core.config import Params
from pipeline.core.contract import Contract
from pipeline.core.errors import PipelineError
from pipeline.core.gate import Decision, against_baseline, decide
from pipeline.core.metrics import decisive_metric, task_metrics
from pipeline.core.schema import Schema
from pipeline.io import paths, provenance, registry, tracking
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.data import read_contract, read_schema, split_blocks
from pipeline.io.evaluation_logging import log_evaluation
from pipeline.io.files import read_json, write_json
from pipeline.io.model_logging import log_pyfunc_model
from pipeline.io.params import load_params
from pipeline.io.request_log import log_files
from pipeline.ml.replay import replay_log
from pipeline.ml.replay import tags as replay_tags
from pipeline.ml.scoring import model_logits, split_outputs


def unscorable(theirs: Contract, schema: Schema) -> str:
    """Why a registered model cannot be scored on today's holdout, or "" when it can: it
    solves the same task with the same labels, and every raw column it takes is in today's
    prepared data with the same kind (the prepared splits hold the kept columns only)."""
    if theirs.task != schema.task:
        return f"solves another task ({theirs.task})"
    if [str(c) for c in theirs.class_labels] != [str(c) for c in schema.class_labels]:
        return f"was trained on other class labels ({theirs.class_labels})"
    kinds = schema.kinds
    absent = [f.name for f in theirs.features if f.name not in kinds]
    if absent:
        return f"takes column(s) {absent} that today's prepared data does not keep"
    other = [f"{f.name} ({f.kind}, now {kinds[f.name]})" for f in theirs.features if kinds[f.name] != f.kind]
    if other:
        return f"takes column(s) of another kind: {', '.join(other)}"
    return ""


def rescore_champion(name: str, version, schema: Schema, metric: str, top_k: int) -> tuple[float | None, str]:
    """The champion's score on today's holdout, with its own contract and `.keras` file, at
    the threshold recorded with it.

    Returns (None, why) when it cannot be scored, e.g. it takes columns today's data lacks.
    """
    with tempfile.TemporaryDirectory() as folder:
        try:
            keras_file, theirs = registry.download_model(name, str(version.version), folder)
        except PipelineError as error:  # a version registered before models took raw rows
            return None, f"champion v{version.version} cannot be rescored: {error}"
        why = unscorable(theirs, schema)
        if why:
            return None, f"champion v{version.version} {why}"
        call = model_logits(keras_file)  # read whole here: the folder goes at the block's end
    threshold = theirs.threshold if theirs.threshold is not None else registry.recorded_threshold(version)
    y, out = split_outputs(call, split_blocks("holdout", schema, theirs.features), schema.task)
    return task_metrics(schema.task, y, out, threshold, top_k)[metric], ""


def replay_traffic(params: Params, contract: Contract, threshold: float | None) -> dict | None:
    """The candidate on the logged traffic against what was served, when a request log exists
    (`monitoring.request_log`); None when there is none. The log is read as it is now: it is
    not a DVC dependency, so a rerun of this stage is what refreshes the summary."""
    log = params.monitoring.request_log
    if not log_files(log):
        return None
    summary = replay_log(log, model_logits(paths.MODEL), contract, threshold)
    share = summary.get("labels_changed_share")
    print(
        f"[register] replayed {summary['requests']} logged requests: "
        + (
            f"{share:.1%} of labels change"
            if share is not None
            else f"mean |difference| {summary['difference']['mean_abs']}"
        )
    )
    return summary


def register(params: Params) -> dict:
    schema = read_schema()
    contract = read_contract(paths.CONTRACT)
    run = read_json(paths.RUN)
    metrics = read_json(paths.METRICS)
    chosen = read_json(paths.THRESHOLD)
    threshold = chosen["threshold"]
    name = params.registry.model_name
    metric = decisive_metric(params.registry.metric, schema.task)
    candidate = metrics[metric]

    holdout_rows = schema.split_sizes.get("holdout", 0)
    baseline = compare(schema.task, metrics, holdout_rows) if holdout_rows else None

    with tracking.reopen_run(run["run_id"]):
        # First, so the run holds the evaluation even when registering fails.
        log_evaluation(params.data.path, schema, metrics, chosen, baseline)
        current = registry.champion(name)
        champion_score, why_not = (None, "")
        if current is not None:
            champion_score, why_not = rescore_champion(name, current, schema, metric, params.train.top_k)
        if current is not None and champion_score is None:
            decision = Decision(
                False,
                f"{why_not}; it stays champion. Fix: use another "
                "register.model_name for a model of different features or task.",
            )
        else:
            decision = decide(metric, candidate, champion_score, params.registry.min_improvement)
        decision = against_baseline(decision, baseline, params.registry.require_beat_baseline)

        # The model MLflow consumers load: raw rows in, the threshold recorded with it.
        model_uri = log_pyfunc_model(paths.MODEL, contract.with_threshold(threshold))
        version = registry.register(
            model_uri,
            name,
            tags={
                "run_id": run["run_id"],
                "data_hash": schema.data_hash,
                "git_commit": provenance.git_commit(),
                "task": schema.task,
                "threshold": threshold,
                "features": ",".join(contract.names),
                f"holdout_{metric}": candidate,
            },
        ).version
        version = str(version)  # an int from a local store, a string from a server
        # The alias moves only after the version is fully registered: a failure before
        # this line leaves the old champion in place.
        if decision.promote:
            registry.set_champion(name, version)
        registry.tag_version(name, version, {"promoted": decision.promote, "decision": decision.reason})
        tracking.set_tags(
            {"registered_model": name, "registered_version": version, "promoted": decision.promote}
        )
        replayed = replay_traffic(params, contract.with_threshold(threshold), threshold)
        if replayed is not None:
            registry.tag_version(name, version, replay_tags(replayed))

    report = {
        "model_name": name,
        "version": int(version),
        "promoted": decision.promote,
        "reason": decision.reason,
        "metric": metric,
        "candidate": candidate,
        "champion_version": int(current.version) if current else None,
        "champion_score": champion_score,
        "champion_after": int(version) if decision.promote else (int(current.version) if current else None),
        "run_id": run["run_id"],
        "model_uri": model_uri,
        "replay": replayed,
    }
    write_json(paths.REGISTRATION, report)
    verdict = "promoted to champion" if decision.promote else "not promoted"
    print(f"[register] {name} v{version} {verdict}: {decision.reason}")
    return report


def main() -> None:
    run_stage("register", lambda: register(load_params()))


if __name__ == "__main__":
    run_and_exit(main)
