"""Drift checks that do not cry wolf: false alarms, detection and cost, beside Evidently's rules.

    python -m bench.drift --seeds 20 --cost-rows 1000000

- False alarms: samples of the training distribution (a 20,000-row stand-in for the training
  split: normal, skewed, uniform and count-valued numbers, one with 10 % missing, categories of
  5 and 50 values, a boolean) at 100, 1k, 10k and 100k rows, `--seeds` each: the share of
  samples in which any feature is flagged.
- Detection: each shift of the drift test at 1k and 10k rows: numeric +0.5 sd, a category's
  share +20 points, a missing rate +20 points, a column removed; flagged and ranked first.
  And a shift too small to act on (+0.03 sd) at 100k rows: what a p-value test flags.
- The anchor: Evidently 0.7's default rules re-stated with scipy on the same samples (KS for
  numbers and chi-square for categories at p < 0.05 up to 1,000 rows; above, Wasserstein
  normed by the training sd > 0.1 and Jensen-Shannon > 0.1). Evidently itself cannot be
  imported next to pandas 3.1 (0.7.23 imports `infer_dtype_from_object`, gone from pandas).
  Evidently picks the rule by the reference's size; the rule by the new sample's size used
  here is the issue's reading, and it is the kinder one to Evidently at 100 rows.
- Cost: `python -m pipeline.drift` on a 1M-row table (bench/synthetic.py) against the prepare
  stage on the same file (two streamed passes), each a child process with its peak memory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from bench.measure import ROOT, project_env, run_module, verdict
from pipeline.core.drift import Thresholds
from pipeline.core.schema import Column, Schema
from pipeline.core.stats import FeatureStats
from pipeline.drift import NewRows, compared

KINDS = {
    "normal": "numeric",
    "skewed": "numeric",
    "uniform": "numeric",
    "counts": "numeric",
    "gappy": "numeric",
    "colour": "categorical",
    "city": "categorical",
    "member": "boolean",
}
SCHEMA = Schema(
    [Column(n, k, "given") for n, k in KINDS.items()], target="y", task="binary", class_labels=[0, 1]
)
COLOURS = ["red", "green", "blue", "black", "white"]
COLOUR_SHARES = [0.4, 0.25, 0.15, 0.12, 0.08]
REFERENCE_ROWS = 20_000


def sample(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, rows])
    gappy = rng.normal(50, 5, rows)
    gappy[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "normal": rng.normal(0, 1, rows),
            "skewed": rng.lognormal(0, 0.75, rows),
            "uniform": rng.uniform(0, 10, rows),
            "counts": rng.poisson(3, rows).astype("float64"),
            "gappy": gappy,
            "colour": rng.choice(COLOURS, rows, p=COLOUR_SHARES),
            "city": np.char.add("c", rng.zipf(1.6, rows).clip(max=50).astype(str)),
            "member": rng.choice(["true", "false"], rows, p=[0.3, 0.7]),
        }
    )


def stats_of(frame: pd.DataFrame) -> FeatureStats:
    stats = FeatureStats(KINDS)
    stats.add(
        {
            n: frame[n].to_numpy("float64") if k == "numeric" else frame[n].to_numpy(object)
            for n, k in KINDS.items()
        }
    )
    return stats


def shifted(kind: str, frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    if kind == "numeric +0.5 sd":
        return frame.assign(normal=frame["normal"] + 0.5), "normal"
    if kind == "numeric +0.03 sd":
        return frame.assign(normal=frame["normal"] + 0.03), "normal"
    if kind == "category +20 points":  # red 40 % -> 60 %
        others = np.flatnonzero(frame["colour"] != "red")
        frame = frame.copy()
        frame.loc[rng.choice(others, int(0.2 * len(frame)), replace=False), "colour"] = "red"
        return frame, "colour"
    if kind == "missing +20 points":  # gappy 10 % -> 30 %
        present = np.flatnonzero(frame["gappy"].notna())
        frame = frame.copy()
        frame.loc[rng.choice(present, int(0.2 * len(frame)), replace=False), "gappy"] = np.nan
        return frame, "gappy"
    if kind == "column removed":
        return frame.drop(columns="member"), "member"
    raise ValueError(kind)


def ours(frame: pd.DataFrame, reference: FeatureStats) -> tuple[set[str], str | None]:
    new = NewRows(SCHEMA)
    new.add(frame)
    report = compared(new, SCHEMA, reference, Thresholds())
    return set(report["drifted_features"]), (report["features"][0]["name"] if report["features"] else None)


def evidently_rule(frame: pd.DataFrame, reference: pd.DataFrame) -> set[str]:
    """Evidently 0.7's per-column defaults, re-stated with scipy (missing values left out, as it does)."""
    flagged = set()
    small = len(frame) <= 1000
    for name, kind in KINDS.items():
        if name not in frame.columns:
            flagged.add(name)  # Evidently fails on a missing column; count it as caught
            continue
        ref, new = reference[name].dropna(), frame[name].dropna()
        if kind == "numeric":
            if small:
                hit = scipy_stats.ks_2samp(ref, new).pvalue < 0.05
            else:
                hit = scipy_stats.wasserstein_distance(ref, new) / np.std(ref) > 0.1
        else:
            categories = sorted(set(ref) | set(new))
            p = ref.value_counts().reindex(categories, fill_value=0).to_numpy("float64")
            q = new.value_counts().reindex(categories, fill_value=0).to_numpy("float64")
            if small:
                expected = p / p.sum() * q.sum()
                keep = expected > 0
                unseen = q[~keep].sum() > 0
                hit = (
                    unseen
                    or scipy_stats.chisquare(
                        q[keep], expected[keep] * q[keep].sum() / expected[keep].sum()
                    ).pvalue
                    < 0.05
                )
            else:
                hit = jensenshannon(p / p.sum(), q / q.sum(), base=2) > 0.1
        if hit:
            flagged.add(name)
    return flagged


def pvalue_flag(frame: pd.DataFrame, reference: pd.DataFrame, name: str, kind: str) -> bool:
    """The p-value test alone at p < 0.05, at any size: KS for numbers, chi-square for
    categories and for the missing share."""
    if name not in frame.columns:
        return True
    if kind.startswith("missing"):
        table = [
            [int(reference[name].isna().sum()), int(reference[name].notna().sum())],
            [int(frame[name].isna().sum()), int(frame[name].notna().sum())],
        ]
        return bool(scipy_stats.chi2_contingency(table).pvalue < 0.05)
    if KINDS[name] == "numeric":
        return bool(scipy_stats.ks_2samp(reference[name].dropna(), frame[name].dropna()).pvalue < 0.05)
    categories = sorted(set(reference[name].dropna()) | set(frame[name].dropna()))
    counts = [
        reference[name].value_counts().reindex(categories, fill_value=0).to_numpy(),
        frame[name].value_counts().reindex(categories, fill_value=0).to_numpy(),
    ]
    return bool(scipy_stats.chi2_contingency(counts).pvalue < 0.05)


def false_alarms(
    sizes: list[int], seeds: int, reference_frame: pd.DataFrame, reference: FeatureStats
) -> list[dict]:
    rows = []
    for size in sizes:
        ours_tables = anchor_tables = ours_columns = anchor_columns = 0
        for seed in range(1, seeds + 1):
            frame = sample(size, 1000 + seed)
            mine, _ = ours(frame, reference)
            theirs = evidently_rule(frame, reference_frame)
            ours_tables += bool(mine)
            anchor_tables += bool(theirs)
            ours_columns += len(mine)
            anchor_columns += len(theirs)
        rows.append(
            {
                "rows": size,
                "ours_tables": ours_tables / seeds,
                "anchor_tables": anchor_tables / seeds,
                "ours_columns": ours_columns / (seeds * len(KINDS)),
                "anchor_columns": anchor_columns / (seeds * len(KINDS)),
            }
        )
        print(f"[bench.drift] false alarms at {size}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def detection(
    cases: list[tuple[str, int]], seeds: int, reference_frame: pd.DataFrame, reference: FeatureStats
) -> list[dict]:
    rows = []
    for kind, size in cases:
        flagged = first = anchor = others = pvalue = 0
        for seed in range(1, seeds + 1):
            frame, target = shifted(kind, sample(size, 2000 + seed), np.random.default_rng(seed))
            mine, top = ours(frame, reference)
            flagged += target in mine
            first += top == target
            others += len(mine - {target})
            anchor += target in evidently_rule(frame, reference_frame)
            pvalue += pvalue_flag(frame, reference_frame, target, kind)
        rows.append(
            {
                "shift": kind,
                "rows": size,
                "flagged": flagged,
                "first": first,
                "others": others,
                "anchor": anchor,
                "pvalue": pvalue,
            }
        )
        print(f"[bench.drift] detection {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def cost(rows: int, rounds: int = 2) -> dict:
    """`pipeline.drift` on a `rows`-row table against the prepare stage on the same file."""
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        folder = Path(tmp)
        table = folder / "data/raw/synthetic.parquet"
        subprocess.run(
            [sys.executable, "-m", "bench.synthetic", "--rows", str(rows), "-o", str(table)],
            env=project_env(),
            check=True,
            capture_output=True,
        )
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["data"].update(path="data/raw/synthetic.parquet", target="target")
        (folder / "params.yaml").write_text(yaml.safe_dump(params))
        log = folder / "bench.log"
        env = project_env()
        prepares, checks = [], []
        for _ in range(rounds):
            prepares.append(run_module(["pipeline.stages.prepare"], folder, log, env))
            checks.append(run_module(["pipeline.drift", str(table), "--no-mlflow"], folder, log, env))
    return {
        "rows": rows,
        "prepare_s": min(m.seconds for m in prepares),
        "drift_s": min(m.seconds for m in checks),
        "prepare_mb": max(m.peak_rss_mb for m in prepares),
        "drift_mb": max(m.peak_rss_mb for m in checks),
    }


def report(alarms: list[dict], found: list[dict], spent: dict | None, seeds: int, command: str) -> str:
    lines = [
        "## Drift checks (bench/drift.py)",
        "",
        f"`{command}`. Ours: `pipeline/core/drift.py` at its defaults (threshold = max(effect floor, "
        "noise bound at alpha = 0.001 per check)). Anchor: Evidently 0.7's default rules re-stated with "
        "scipy on the same samples (KS / chi-square at p < 0.05 up to 1,000 rows; normed Wasserstein / "
        "Jensen-Shannon > 0.1 above); Evidently itself cannot be imported with pandas 3.1. "
        f"Reference: {REFERENCE_ROWS:,} rows, {len(KINDS)} features (5 numeric, one 10 % missing; "
        "categories of 5 and up to 50 values; a boolean).",
        "",
        f"**False alarms** (samples of the training distribution, {seeds} seeds; "
        "target: tables flagged <= 5 %):",
        "",
        "| rows | tables flagged, ours | tables flagged, anchor | columns flagged, ours "
        "| columns flagged, anchor | target |",
        "|---|---|---|---|---|---|",
    ]
    for row in alarms:
        lines.append(
            f"| {row['rows']:,} | {row['ours_tables']:.0%} | {row['anchor_tables']:.0%} | "
            f"{row['ours_columns']:.1%} | {row['anchor_columns']:.1%} | "
            f"{verdict(row['ours_tables'] <= 0.05)} |"
        )
    lines += [
        "",
        f"**Detection** ({seeds} seeds; target at >= 1k rows: flagged {seeds}/{seeds} and ranked first; "
        "the +0.03 sd shift is one too small to act on: flagging it is a false alarm):",
        "",
        "| shift | rows | flagged, ours | ranked first | other features flagged | flagged, anchor "
        "| KS / chi-square p < 0.05 alone | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in found:
        tiny = row["shift"] == "numeric +0.03 sd"
        met = row["flagged"] == 0 if tiny else row["flagged"] == row["first"] == seeds
        lines.append(
            f"| {row['shift']} | {row['rows']:,} | {row['flagged']}/{seeds} | {row['first']}/{seeds} | "
            f"{row['others']} | {row['anchor']}/{seeds} | {row['pvalue']}/{seeds} | {verdict(met)} |"
        )
    if spent:
        small, large = spent["small"], spent["large"]
        ratio = large["drift_s"] / large["prepare_s"]
        grown = large["drift_mb"] - small["drift_mb"]
        prepare_grown = large["prepare_mb"] - small["prepare_mb"]
        lines += [
            "",
            "**Cost** (bench/synthetic.py: 30 numbers, 2 text columns; parquet; fastest of 2 alternated "
            "runs, each a child process with its own peak memory; prepare makes two streamed passes, so "
            "'<= 2x one prepare pass' is '<= 1x the prepare stage'):",
            "",
            "| rows | prepare s | drift s | drift / prepare | prepare peak MB | drift peak MB |",
            "|---|---|---|---|---|---|",
        ]
        for row in (small, large):
            lines.append(
                f"| {row['rows']:,} | {row['prepare_s']:.1f} | {row['drift_s']:.1f} | "
                f"{row['drift_s'] / row['prepare_s']:.2f} | {row['prepare_mb']:.0f} | {row['drift_mb']:.0f} |"
            )
        lines += [
            "",
            f"- time at {large['rows']:,} rows: {ratio:.2f}x the prepare stage (target <= 1.0): "
            f"{verdict(ratio <= 1.0)}",
            f"- memory from {small['rows']:,} to {large['rows']:,} rows: drift +{grown:.0f} MB, prepare "
            f"+{prepare_grown:.0f} MB (target: within prepare's growth): {verdict(grown <= prepare_grown)}",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    parser.add_argument("--cost-rows", type=int, default=1_000_000, help="0: skip the cost measurement")
    parser.add_argument("--cost-only", action="store_true", help="only the cost measurement, printed")
    args = parser.parse_args()
    if args.cost_only:
        print(cost(args.cost_rows))
        return
    reference_frame = sample(REFERENCE_ROWS, 0)
    reference = stats_of(reference_frame)
    alarms = false_alarms(args.sizes, args.seeds, reference_frame, reference)
    cases = [
        (kind, size)
        for size in (1000, 10_000)
        for kind in ("numeric +0.5 sd", "category +20 points", "missing +20 points", "column removed")
    ] + [("numeric +0.03 sd", 100_000)]
    found = detection(cases, args.seeds, reference_frame, reference)
    spent = {"small": cost(10_000, 1), "large": cost(args.cost_rows)} if args.cost_rows else None
    command = f"python -m bench.drift --seeds {args.seeds} --cost-rows {args.cost_rows}"
    print(report(alarms, found, spent, args.seeds, command))


if __name__ == "__main__":
    main()
