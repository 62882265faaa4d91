"""Stage `register`: a new model version, and the `champion` alias only if it earns it."""

from __future__ import annotations

import tempfile

from pipeline.core.config import Params
from pipeline.core.gate import Decision, decide
from pipeline.core.metrics import decisive_metric, task_metrics
from pipeline.core.schema import Schema
from pipeline.io import paths, registry, tracking
from pipeline.io.cli import run_stage
from pipeline.io.data import read_schema, split_blocks
from pipeline.io.files import read_json, write_json
from pipeline.io.params import load_params
from pipeline.ml.scoring import model_logits, split_outputs


def rescore_champion(name: str, version, schema: Schema, metric: str, top_k: int) -> tuple[float | None, str]:
    """The champion's score on today's holdout, at the threshold recorded with it.

    Returns (None, why) when it cannot be scored, e.g. it was trained on other features.
    """
    if version.tags.get("features") != ",".join(schema.features):
        return None, f"champion v{version.version} was trained on other features"
    if version.tags.get("task", schema.task) != schema.task:
        return None, f"champion v{version.version} solves another task ({version.tags['task']})"
    threshold = registry.recorded_threshold(version)
    with tempfile.TemporaryDirectory() as folder:
        call = model_logits(registry.download_keras_file(name, version.version, folder))
    y, out = split_outputs(call, split_blocks("holdout", schema), schema.task)
    return task_metrics(schema.task, y, out, threshold, top_k)[metric], ""


def register(params: Params) -> dict:
    schema = read_schema()
    run = read_json(paths.RUN)
    metrics = read_json(paths.METRICS)
    threshold = read_json(paths.THRESHOLD)["threshold"]
    name = params.registry.model_name
    metric = decisive_metric(params.registry.metric, schema.task)
    candidate = metrics[metric]

    with tracking.reopen_run(run["run_id"]):
        current = registry.champion(name)
        champion_score, why_not = (None, "")
        if current is not None:
            champion_score, why_not = rescore_champion(name, current, schema, metric, params.train.top_k)
        if current is not None and champion_score is None:
            decision = Decision(False, f"{why_not}; it stays champion. Fix: use another "
                                       "register.model_name for a model of different features or task.")
        else:
            decision = decide(metric, candidate, champion_score, params.registry.min_improvement)

        version = registry.register(run["model_uri"], name, tags={
            "run_id": run["run_id"], "data_hash": schema.data_hash,
            "git_commit": tracking.git_commit(), "task": schema.task,
            "threshold": threshold, "features": ",".join(schema.features),
            f"holdout_{metric}": candidate,
        }).version
        version = str(version)  # an int from a local store, a string from a server
        # The alias moves only after the version is fully registered: a failure before
        # this line leaves the old champion in place.
        if decision.promote:
            registry.set_champion(name, version)
        registry.tag_version(name, version, {"promoted": decision.promote,
                                             "decision": decision.reason})
        tracking.set_tags({"registered_model": name, "registered_version": version,
                           "promoted": decision.promote})

    report = {
        "model_name": name,
        "version": int(version),
        "promoted": decision.promote,
        "reason": decision.reason,
        "metric": metric,
        "candidate": candidate,
        "champion_version": int(current.version) if current else None,
        "champion_score": champion_score,
        "champion_after": int(version) if decision.promote else (
            int(current.version) if current else None),
        "run_id": run["run_id"],
    }
    write_json(paths.REGISTRATION, report)
    verdict = "promoted to champion" if decision.promote else "not promoted"
    print(f"[register] {name} v{version} {verdict}: {decision.reason}")
    return report


def main() -> None:
    run_stage("register", lambda: register(load_params()))


if __name__ == "__main__":
    main()
