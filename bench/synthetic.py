"""Synthetic benchmark tables: N rows x F numbers and two text columns, a learnable binary target.

    python -m bench.synthetic --rows 1000000 -o data/raw/synthetic-1m.parquet   # or .csv

Deterministic by seed, whatever the size: rows are made in fixed blocks, each from its own
generator (seed, block), so the first 10k rows of the 1M table are the 10k table. Written
block by block, so memory stays flat. The target is a noisy linear score of half the
features plus one interaction: a model has something to learn, and not all of it is linear.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

BLOCK = 10_000


# Text columns of 10 and 1,000 categories, each with an effect on the target, and numbers
# missing in one column: what a real table brings to prepare, training and scoring.
TEXT_COLUMNS = {"colour": 10, "city": 1000}
MISSING_SHARE = 0.05  # of f01's values


def block(
    seed: int, index: int, rows: int, features: int, weights: np.ndarray, text: bool = True
) -> pa.Table:
    rng = np.random.default_rng([seed, index])
    x = rng.normal(size=(rows, features)).astype("float32")
    score = x @ weights + 0.8 * x[:, 0] * x[:, 1] + rng.normal(scale=0.5, size=rows)
    columns: dict = {f"f{j:02d}": x[:, j] for j in range(features)}
    if text:
        for name, count in TEXT_COLUMNS.items():
            codes = rng.integers(0, count, size=rows)
            score += np.sin(codes * 1.7)  # each category its own fixed effect
            columns[name] = pa.array([f"{name[0]}{c}" for c in codes])
        if features > 1:
            f01 = x[:, 1].copy()
            columns["f01"] = pa.array(f01, mask=rng.random(rows) < MISSING_SHARE)
    columns["target"] = (score > 0).astype("int64")
    return pa.table(columns)


def generate(rows: int, features: int, seed: int, output: Path, text: bool = True) -> None:
    """Write the table as parquet or (by the suffix) CSV, block by block."""
    weights = np.random.default_rng(seed).normal(size=features)
    weights[features // 2 :] = 0.0  # half the features are noise
    output.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for index, start in enumerate(range(0, rows, BLOCK)):
            table = block(seed, index, min(BLOCK, rows - start), features, weights, text)
            if writer is None:
                writer = (
                    pa_csv.CSVWriter(output, table.schema)
                    if output.suffix == ".csv"
                    else pq.ParquetWriter(output, table.schema)
                )
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--numeric-only", action="store_true", help="no text columns, no missing values")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    generate(args.rows, args.features, args.seed, args.output, text=not args.numeric_only)
    print(f"[synthetic] {args.rows} rows x {args.features} features -> {args.output}")


if __name__ == "__main__":
    main()
