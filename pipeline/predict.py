"""`python -m pipeline.predict` (`make predict`): score a CSV or parquet file of any size.

    python -m pipeline.predict new.csv                  # -> new.scored.csv (+ new.rejects.csv)
    python -m pipeline.predict big.parquet -o out.parquet --version 3

The champion (or `--version`) scores the file chunk by chunk, so memory stays flat whatever
its size; each output row is the input row plus the answer, made by the same post-processing
as the service (`label` and `p_<class>`, or `value`). Rows that fail validation go to the
rejects file with their row number and reason, and the rest are scored.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline.core.batch import check_columns, check_rows
from pipeline.core.errors import DataError
from pipeline.core.postprocess import outputs, predict_labels
from pipeline.core.tasks import REGRESSION
from pipeline.io import champion
from pipeline.io.cli import run_stage
from pipeline.io.table import open_parquet

CHUNK_ROWS = 10_000  # 50k-row chunks grew the peak by 190 MB at 1M rows, and ran no faster


def chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    if path.suffix == ".parquet":
        for batch in open_parquet(path).iter_batches(batch_size=rows):
            yield batch.to_pandas()
    elif path.suffix == ".csv":
        yield from pd.read_csv(path, chunksize=rows)
    else:
        raise DataError(f"{str(path)!r}: unsupported file type. Fix: use a .csv or .parquet file.")


def total_rows(path: Path) -> int | None:
    return open_parquet(path).metadata.num_rows if path.suffix == ".parquet" else None


class Writer:
    """Appends chunks to a CSV or parquet file, written under a temporary name until done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".tmp.{path.name}")
        self.tmp.unlink(missing_ok=True)  # a crashed run's leftovers are never appended to
        self._parquet: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.path.suffix == ".parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            try:  # a CSV chunk may type a column differently from the first one
                table = table.cast(self._parquet.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                raise DataError(f"{self.path}: a chunk's columns do not match the first chunk's "
                                f"({exc}). Fix: write CSV output (-o x.csv).") from None
            self._parquet.write_table(table)
        else:
            frame.to_csv(self.tmp, mode="a", header=self.rows == 0, index=False)
        self.rows += len(frame)

    def close(self) -> None:
        """Publish the file; with no rows, no file, so none from an earlier run looks fresh."""
        if self._parquet is not None:
            self._parquet.close()
        if self.rows:
            self.tmp.replace(self.path)
        else:
            self.path.unlink(missing_ok=True)

    def discard(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.unlink(missing_ok=True)


def score(source: Path, output: Path, version: str | None, rows: int) -> dict:
    if not source.is_file():
        raise DataError(f"{str(source)!r} does not exist. Fix: give the path of the file to score.")
    from pipeline.ml.model import compiled_logits, load_model

    name, pinned = champion.wanted()
    with tempfile.TemporaryDirectory(prefix="predict-") as folder:
        served = champion.fetch(name, version or pinned, folder)
        call = compiled_logits(load_model(served.keras_file))
        scored, rejects = Writer(output), Writer(output.with_name(f"{source.stem}.rejects.csv"))
        try:
            read = score_chunks(source, rows, call, served, scored, rejects)
        except BaseException:  # nothing half-written is left behind
            scored.discard()
            rejects.discard()
            raise
        scored.close()
        rejects.close()
    print(f"[predict] {served.name} v{served.version}: {scored.rows} of {read} rows scored -> {output}"
          + (f"; {rejects.rows} rejected -> {rejects.path}" if rejects.rows else ""))
    return {"model": served.name, "version": served.version, "rows": read, "scored": scored.rows,
            "rejected": rejects.rows, "output": str(output)}


def score_chunks(source: Path, rows: int, call: Callable[[np.ndarray], np.ndarray],
                 served: champion.ServedModel, scored: Writer, rejects: Writer) -> int:
    """Score every chunk into `scored`, bad rows into `rejects`; returns the rows read."""
    schema = served.schema
    read = 0
    with tqdm(total=total_rows(source), unit="rows", desc=f"v{served.version}") as progress:
        for frame in chunks(source, rows):
            check_columns(list(frame.columns), schema.features, str(source))
            x, valid, reasons = check_rows(frame, schema.features)
            if len(x):
                out = outputs(call(x), schema.task)
                answers = frame[valid].copy()
                if schema.task == REGRESSION:
                    answers["value"] = out
                else:
                    answers["label"] = predict_labels(out, schema.class_labels, served.threshold)
                    for j, label in enumerate(schema.class_labels):
                        answers[f"p_{label}"] = out[:, j]
                scored.write(answers)
            if reasons:
                rejects.write(pd.DataFrame({"row": read + np.flatnonzero(~valid) + 1, "reason": reasons}))
            read += len(frame)
            progress.update(len(frame))
    return read


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.predict", description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("-o", "--output", type=Path, help="default: <input>.scored.<suffix>")
    parser.add_argument("--version", help="a registered version instead of the champion")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    args = parser.parse_args(argv)
    output = args.output or args.input.with_name(f"{args.input.stem}.scored{args.input.suffix}")
    run_stage("predict", lambda: score(args.input, output, args.version, args.chunk_rows))


if __name__ == "__main__":
    main()
