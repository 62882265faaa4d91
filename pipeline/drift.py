"""`python -m pipeline.drift` (`make drift INPUT=...`): has the data the model meets moved away
from what it learnt from?

    python -m pipeline.drift logs/requests          # the service's request log (a folder)
    python -m pipeline.drift new.csv                # a table in the training format
    python -m pipeline.drift new.scored.parquet     # ... with `make predict`'s answers

New rows against the training split (`data/prepared/train.parquet`), per feature by the kind
prepare recorded in `schema.json`: numeric (Wasserstein in training standard deviations, PSI),
categorical and boolean (Jensen-Shannon distance, PSI, the share of unseen categories), the
missing rate of each; schema drift (a feature column gone, a new column, numbers turned to
text); and the model's answers against the same model's answers on the holdout split: the log's
against those the answering version's run logged (`eval/predictions.parquet`, fetched from the
registry; the version that answered most of the log when several did), a scored file's
`p_<class>` / `value` against the workspace's `reports/eval/predictions.parquet`. Thresholds and why:
core/drift.py and the `monitoring` params. Both sides are streamed into fixed-size summaries
(moments, a uniform sample of at most 100,000 values, category counts): memory stays flat in the
number of rows.

Writes `reports/drift/report.json` (`drifted`, per feature its checks: statistic, threshold,
verdict, sample sizes), `reports/drift/worst.png` (the worst features side by side) and an
MLflow run in the `monitoring.experiment` experiment, tagged with the champion's version.
Exit 0 whether or not anything drifted (the report says); 2 on bad input.
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core import drift
from pipeline.core.config import Monitoring
from pipeline.core.contract import NUMERIC
from pipeline.core.errors import DataError
from pipeline.core.rows import category_column
from pipeline.core.schema import Schema
from pipeline.core.stats import CategorySummary, FeatureStats, NumericSummary
from pipeline.io import paths
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.data import columns_of, read_schema, split_tables
from pipeline.io.files import atomic_path, write_json
from pipeline.io.params import load_params
from pipeline.io.request_log import row_batches
from pipeline.io.table import TableReader, open_parquet

REPORT_DIR = Path("reports/drift")
REPORT = REPORT_DIR / "report.json"
FIGURE = REPORT_DIR / "worst.png"
# Columns of answers (the log's, or `make predict`'s) rather than of the table.
ANSWER = re.compile(r"^(predicted_)*(p_.+|value|label)$")
KIND_CHANGED_SHARE = 0.5  # a numeric column whose observed cells are mostly not numbers is text now
# The version that answered each logged row, as the log reader names the column: a name no
# table is expected to use, kept out of the schema checks.
SERVED_VERSION = "-served-version-"
HOLDOUT_ANSWERS = "eval/predictions.parquet"  # as evaluate logs it on the run


def thresholds_of(monitoring: Monitoring) -> drift.Thresholds:
    return drift.Thresholds(
        alpha=monitoring.alpha,
        numeric_floor=monitoring.numeric_floor,
        categorical_floor=monitoring.categorical_floor,
        missing_floor=monitoring.missing_floor,
        unseen_floor=monitoring.unseen_floor,
    )


def reference_stats(schema: Schema) -> FeatureStats:
    """The training split, streamed row group by row group into per-feature summaries."""
    kinds = {name: schema.kinds[name] for name in schema.features}
    stats = FeatureStats(kinds, sample_size=drift.SAMPLE)
    for table in split_tables("train", list(kinds)):
        stats.add(columns_of(table, kinds))
    return stats


def prediction_columns(schema: Schema) -> list[str]:
    if schema.task == "regression":
        return ["value"]
    return [f"p_{label}" for label in schema.class_labels]


def reference_predictions(schema: Schema, path: Path = paths.PREDICTIONS) -> dict[str, NumericSummary]:
    """The model's answers on the holdout split, as evaluate wrote them (absent: no check)."""
    out: dict[str, NumericSummary] = {}
    if not path.is_file():
        return out
    wanted = prediction_columns(schema)
    source = open_parquet(path)
    present = [c for c in wanted if c in source.schema_arrow.names]
    for batch in source.iter_batches(columns=present):
        for name in present:
            summary = out.setdefault(name, NumericSummary(sample_size=drift.SAMPLE))
            summary.add(batch.column(name).to_numpy(zero_copy_only=False))
    return out


@dataclass
class NewRows:
    """The new rows, batch by batch: the same summaries as the reference's, plus what schema
    drift needs (the columns seen, the cells of numeric columns that are not numbers)."""

    schema: Schema
    stats: FeatureStats = field(init=False)
    columns: set[str] = field(default_factory=set)
    not_numbers: dict[str, int] = field(default_factory=dict)
    observed: dict[str, int] = field(default_factory=dict)
    # The answers' summaries per version that gave them (None: a table's, of no known version).
    predictions: dict[str | None, dict[str, NumericSummary]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kinds = {name: self.schema.kinds[name] for name in self.schema.features}
        self.stats = FeatureStats(kinds, seed=1, sample_size=drift.SAMPLE)

    def add(self, batch: pd.DataFrame) -> None:
        self.columns.update(str(c) for c in batch.columns if c != SERVED_VERSION)
        rows = len(batch)
        for name, summary in self.stats.summaries.items():
            if name not in batch.columns:
                continue  # reported as a column gone
            values = batch[name]
            if isinstance(summary, NumericSummary):
                numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                present = int(values.notna().sum())
                self.not_numbers[name] = (
                    self.not_numbers.get(name, 0) + present - int(np.isfinite(numbers).sum())
                )
                self.observed[name] = self.observed.get(name, 0) + present
                summary.add(numbers)
            else:
                summary.add(category_column(values))
        self.stats.rows += rows
        answered = [name for name in prediction_columns(self.schema) if name in batch.columns]
        if not answered:
            return
        groups = (
            batch.groupby(SERVED_VERSION, sort=False) if SERVED_VERSION in batch.columns else [(None, batch)]
        )
        for version, rows_of in groups:
            summaries = self.predictions.setdefault(version, {})
            for name in answered:
                numbers = pd.to_numeric(rows_of[name], errors="coerce").to_numpy(
                    dtype="float64", na_value=np.nan
                )
                summaries.setdefault(name, NumericSummary(seed=1, sample_size=drift.SAMPLE)).add(numbers)

    def answering_version(self) -> str | None:
        """The version whose answers are compared: the one that gave the most (the newest on a tie)."""
        counts = {
            version: max(s.moments.count for s in summaries.values())
            for version, summaries in self.predictions.items()
        }
        if not counts:
            return None
        return max(counts, key=lambda v: (counts[v], -1 if v is None else _number(v)))


def read_new(source: Path, schema: Schema) -> NewRows:
    """A table in the training format, or a request log (a folder, or one of its files)."""
    if not source.exists():
        raise DataError(
            f"input = {str(source)!r} does not exist. Fix: give the request log's folder "
            "(monitoring.request_log) or a CSV or parquet table in the training format."
        )
    if source.is_file() and source.suffix in (".csv", ".parquet"):
        # The table reader widens a CSV column whose type changes mid-file and reads again.
        return TableReader(source).scan(lambda header: NewRows(schema))
    rows = NewRows(schema)
    for batch in row_batches(source, version_column=SERVED_VERSION):
        rows.add(batch)
    return rows


def _number(version: str) -> int:
    return int(version) if version.isdigit() else -1


def schema_checks(schema: Schema, new: NewRows) -> list[drift.FeatureDrift]:
    """Feature columns gone, columns training never had, numbers that became text."""
    out = []
    rows = new.stats.rows
    known = {schema.target, *schema.dropped, *schema.features}
    for name in schema.features:
        if name not in new.columns:
            out.append(
                drift.FeatureDrift(
                    name, schema.kinds[name], [drift.schema_check(schema.kinds[name], "column gone", rows)]
                )
            )
        elif schema.kinds[name] == NUMERIC and new.observed.get(name):
            share = new.not_numbers[name] / new.observed[name]
            if share > KIND_CHANGED_SHARE:
                problem = f"numeric in training, {share:.0%} of its values are not numbers now"
                out.append(drift.FeatureDrift(name, NUMERIC, [drift.schema_check("text", problem, rows)]))
    for name in sorted(new.columns - known):
        if not ANSWER.match(name):
            out.append(
                drift.FeatureDrift(
                    name, "new", [drift.schema_check("new", "column training never had", rows)]
                )
            )
    return out


def check(
    source: Path, schema: Schema, reference: FeatureStats, thresholds: drift.Thresholds
) -> tuple[dict, NewRows]:
    """The report of `source` against `reference`; no files, no MLflow (the benchmark calls this)."""
    new = read_new(source, schema)
    if not new.stats.rows:
        raise DataError(f"input = {str(source)!r} holds no rows. Fix: give rows to compare.")
    return compared(new, schema, reference, thresholds), new


def compared(new: NewRows, schema: Schema, reference: FeatureStats, thresholds: drift.Thresholds) -> dict:
    """The report's findings on rows already summarised."""
    schema_drift = schema_checks(schema, new)
    gone_or_changed = {f.name for f in schema_drift if f.kind != "new"}  # their numbers mean nothing
    features = [f for f in drift.compare(reference, new.stats, thresholds) if f.name not in gone_or_changed]
    ranked = drift.rank([*schema_drift, *features])
    return {
        "drifted": any(f.drifted for f in ranked),
        "drifted_features": [f.name for f in ranked if f.drifted],
        "rows": {"reference": reference.rows, "new": new.stats.rows},
        "thresholds": vars(thresholds),
        "features": [f.to_dict() for f in ranked],
    }


def prediction_report(
    schema: Schema, new: NewRows, thresholds: drift.Thresholds, reference: Path, version: str | None = None
) -> list[dict]:
    """The answers of `version` against that model's on the holdout split (`reference`), per
    probability column (or value)."""
    out = []
    answers = new.predictions.get(version, {})
    for name, theirs in reference_predictions(schema, reference).items():
        mine = answers.get(name)
        if mine is None or not mine.moments.count:
            continue
        sd = math.sqrt(float(theirs.moments.variance[0]))
        result = drift.numeric_check(theirs.sample, mine.sample, sd, thresholds)
        out.append({"name": name, **result.to_dict()})
    return out


def figure(report: dict, reference: FeatureStats, new: NewRows, worst: int, path: Path) -> None:
    """The worst features' distributions, training beside new: histograms for numbers, shares
    for categories."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [
        f["name"] for f in report["features"] if f["name"] in reference.summaries and f["name"] in new.columns
    ]
    names = names[:worst]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(4 * max(len(names), 1), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        ref, got = reference.summaries[name], new.stats.summaries[name]
        if isinstance(ref, NumericSummary) and isinstance(got, NumericSummary):
            both = np.concatenate([ref.sample, got.sample])
            bins = np.histogram_bin_edges(both[np.isfinite(both)], bins=30) if len(both) else 10
            ax.hist(ref.sample, bins=bins, density=True, alpha=0.5, label="training")
            ax.hist(got.sample, bins=bins, density=True, alpha=0.5, label="new")
        elif isinstance(ref, CategorySummary) and isinstance(got, CategorySummary):
            categories, p, q = drift.category_shares(ref.counts, got.counts)
            shown = np.argsort(-(p + q))[:10]
            x = np.arange(len(shown))
            ax.bar(x - 0.2, p[shown], 0.4, label="training")
            ax.bar(x + 0.2, q[shown], 0.4, label="new")
            ax.set_xticks(x, [categories[i] or "(missing)" for i in shown], rotation=45, fontsize=7)
        score = next(f["score"] for f in report["features"] if f["name"] == name)
        ax.set_title(f"{name} (score {score:.2f})" if score is not None else name, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


def holdout_answers(new: NewRows, model_name: str, into: Path) -> tuple[str | None, Path | None, str]:
    """(the version whose answers are compared, its holdout answers' file, why not when None).

    A log's answers are compared with the answering version's own holdout answers, fetched
    from its run: another version's (the workspace's last evaluate may be a candidate that was
    never served) would differ by the models, not by the data. A table's answers, of no known
    version, are compared with the workspace's.
    """
    version = new.answering_version()
    if version is None:
        return None, paths.PREDICTIONS, ""
    from pipeline.io import registry

    try:
        found = registry.version_artifact(model_name, version, HOLDOUT_ANSWERS, into)
    except Exception as exc:  # an unreachable store: the features are still checked
        return version, None, f"the registry could not be read ({type(exc).__name__})"
    if found is None:
        return version, None, f"{model_name} v{version}'s run logged no {HOLDOUT_ANSWERS}"
    return version, found, ""


def champion_version(name: str) -> str:
    """The champion's version, or "none" when the registry has none (or cannot be reached)."""
    from pipeline.io import registry

    try:
        found = registry.champion(name)
    except Exception:  # an unreachable store: the check still reports
        return "none"
    return str(found.version) if found is not None else "none"


def track(report: dict, experiment: str, model_name: str, source: Path) -> str:
    from pipeline.io import tracking

    version = champion_version(model_name)
    report["model"] = {"name": model_name, "version": version}
    tags = {
        "model_name": model_name,
        "model_version": version,
        "drifted": str(report["drifted"]),
        "input": str(source),
    }
    with tracking.new_run(experiment, "drift", tags) as run_id:
        tracking.log_metrics(
            {
                "rows_new": report["rows"]["new"],
                "rows_reference": report["rows"]["reference"],
                "drifted_features": len(report["drifted_features"]),
                **{
                    f"score.{safe(f['name'])}": f["score"]
                    for f in report["features"]
                    if f["score"] is not None
                },
            }
        )
        write_json(REPORT, report)
        tracking.log_artifact(REPORT, "drift")
        if FIGURE.is_file():
            tracking.log_artifact(FIGURE, "drift")
    return run_id


def safe(name: str) -> str:
    """A metric name MLflow accepts (letters, digits, _ - . / and space)."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", name)


def run(source: Path, tracked: bool = True) -> dict:
    params = load_params()
    monitoring = params.monitoring
    thresholds = thresholds_of(monitoring)
    schema = read_schema()
    reference = reference_stats(schema)
    report, new = check(source, schema, reference, thresholds)
    report["input"] = str(source)
    with tempfile.TemporaryDirectory() as folder:
        version, answers, why_not = holdout_answers(new, params.registry.model_name, Path(folder))
        report["predictions"] = (
            prediction_report(schema, new, thresholds, answers, version) if answers else []
        )
    report["predictions_of"] = {
        "version": version,
        "versions": sorted(v for v in new.predictions if v is not None),
        **({"not_compared": why_not} if why_not else {}),
    }
    report["drifted"] = report["drifted"] or any(p["verdict"] == "drift" for p in report["predictions"])
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    figure(report, reference, new, monitoring.worst_features, FIGURE)
    if tracked:
        report["run_id"] = track(report, monitoring.experiment, params.registry.model_name, source)
    write_json(REPORT, report)
    worst = report["features"][0] if report["features"] else None
    verdict = (
        f"DRIFT in {len(report['drifted_features'])} feature(s): {', '.join(report['drifted_features'][:5])}"
        if report["drifted_features"]
        else "no feature drifted"
    )
    if any(p["verdict"] == "drift" for p in report["predictions"]):
        verdict += "; the answers drifted"
    if "not_compared" in report["predictions_of"]:
        verdict += f"; answers not compared: {report['predictions_of']['not_compared']}"
    detail = (
        f" (worst: {worst['name']}, {worst['worst_check']} score {_shown(worst['score'])})" if worst else ""
    )
    rows = report["rows"]
    print(f"[drift] {rows['new']} rows vs {rows['reference']} training rows: {verdict}{detail} -> {REPORT}")
    return report


def _shown(score: float | None) -> str:
    """A score for people: two decimals; None (a schema check, infinitely over) as "schema"."""
    return "inf" if score is None else f"{score:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.drift", description=__doc__.splitlines()[0])
    parser.add_argument(
        "input", type=Path, nargs="?", help="a table, or the request log (default: monitoring.request_log)"
    )
    parser.add_argument("--no-mlflow", action="store_true", help="write the report only, no MLflow run")
    args = parser.parse_args(argv)
    source = args.input or Path(load_params().monitoring.request_log)
    run_stage("drift", lambda: run(source, tracked=not args.no_mlflow))


if __name__ == "__main__":
    run_and_exit(main)
