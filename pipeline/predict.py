"""`python -m pipeline.predict` (`make predict`): score a CSV or parquet file of any size.

    python -m pipeline.predict new.csv                  # -> new.scored.csv (+ new.rejects.csv)
    python -m pipeline.predict big.parquet -o out.parquet --version 3

The file has the training table's own format: a column per raw feature, as `/metadata` lists
them (text, numbers, empty cells for missing values); other columns, such as the target or an
id, are passed through. The champion (or `--version`) scores the file chunk by chunk, so memory
stays flat whatever its size; each output row is the input row plus the answer, made by the
same post-processing as the service (`label` and `p_<class>`, or `value`). A missing feature
column fails the file; a row whose value does not fit its column's kind (text in a numeric
column, a number beyond float32) goes to the rejects file with its row number and reason, and
the rest are scored.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline.core.batch import check_columns, check_rows
from pipeline.core.contract import Contract
from pipeline.core.errors import DataError
from pipeline.core.postprocess import outputs, predict_labels
from pipeline.core.tasks import REGRESSION
from pipeline.io import champion
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.table import CSV_BLOCK_BYTES, check_csv_header, first_ragged_line, open_parquet

CHUNK_ROWS = 10_000  # 50k-row chunks grew the peak by 190 MB at 1M rows, and ran no faster


class Source:
    """The file to score, read in chunks of `rows` rows as Arrow tables.

    A CSV is read with every cell as text (empty and "NA"-like cells as null, as prepare reads
    them), so a column never changes type between chunks, the columns passed through are
    written back as they were, and each feature's cells are parsed by its kind (core/batch.py).
    """

    def __init__(self, path: Path) -> None:
        if path.suffix not in (".csv", ".parquet"):
            raise DataError(f"{str(path)!r}: unsupported file type. Fix: use a .csv or .parquet file.")
        if not path.is_file():
            raise DataError(f"{str(path)!r} does not exist. Fix: give the path of the file to score.")
        self.path = path
        self.csv = path.suffix == ".csv"

    def columns(self) -> list[str]:
        if self.csv:
            return check_csv_header(self.path)
        return list(open_parquet(self.path).schema_arrow.names)

    def total_rows(self) -> int | None:
        return None if self.csv else open_parquet(self.path).metadata.num_rows

    def chunks(self, rows: int) -> Iterator[pa.Table]:
        if not self.csv:
            for batch in open_parquet(self.path).iter_batches(batch_size=rows):
                yield pa.Table.from_batches([batch])
            return
        header = self.columns()
        if not header:
            raise DataError(f"{str(self.path)!r} is empty. Fix: give a CSV with a header row.")
        try:
            reader = pa_csv.open_csv(
                self.path,
                read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=True
                ),
            )
            yield from rechunk(reader, rows)
        except pa.ArrowInvalid as exc:
            ragged = first_ragged_line(self.path)
            if ragged:
                line, saw, expected = ragged
                raise DataError(
                    f"{str(self.path)!r}: line {line} has {saw} fields where the header has {expected}. "
                    "Fix: repair that row (an unquoted comma in a value?)."
                ) from None
            raise DataError(f"{str(self.path)!r} could not be parsed as CSV: {exc}") from None


def rechunk(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Record batches of any size (a CSV reader's blocks) -> tables of `rows` rows (the last fewer)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


class Writer:
    """Appends chunks to a CSV or parquet file, written under a temporary name until done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".tmp.{path.name}")
        self.tmp.unlink(missing_ok=True)  # a crashed run's leftovers are never appended to
        self._parquet: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self.path.suffix == ".parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            try:  # every chunk holds the first one's columns and types: a guard, named if not
                table = table.cast(self._parquet.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                raise DataError(
                    f"{self.path}: a chunk's columns do not match the first chunk's "
                    f"({exc}). Fix: write CSV output (-o x.csv)."
                ) from None
            self._parquet.write_table(table)
        else:
            with open(self.tmp, "ab") as handle:
                pa_csv.write_csv(
                    table, handle, pa_csv.WriteOptions(include_header=self.rows == 0, quoting_style="needed")
                )
        self.rows += table.num_rows

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
    reader = Source(source)
    from pipeline.ml.model import compiled_logits, load_model

    name, pinned = champion.wanted()
    with tempfile.TemporaryDirectory(prefix="predict-") as folder:
        served = champion.fetch(name, version or pinned, folder)
        check_columns(reader.columns(), served.contract, str(source))  # before the model loads
        call = compiled_logits(load_model(served.keras_file))
        scored, rejects = Writer(output), Writer(output.with_name(f"{source.stem}.rejects.csv"))
        try:
            read = score_chunks(reader, rows, call, served, scored, rejects)
        except BaseException:  # nothing half-written is left behind
            scored.discard()
            rejects.discard()
            raise
        scored.close()
        rejects.close()
    print(
        f"[predict] {served.name} v{served.version}: {scored.rows} of {read} rows scored -> {output}"
        + (f"; {rejects.rows} rejected -> {rejects.path}" if rejects.rows else "")
    )
    return {
        "model": served.name,
        "version": served.version,
        "rows": read,
        "scored": scored.rows,
        "rejected": rejects.rows,
        "output": str(output),
    }


def score_chunks(
    reader: Source,
    rows: int,
    call: Callable[[Mapping[str, np.ndarray]], np.ndarray],
    served: champion.ServedModel,
    scored: Writer,
    rejects: Writer,
) -> int:
    """Score every chunk into `scored`, bad rows into `rejects`; returns the rows read."""
    contract = served.contract
    read = 0
    with tqdm(total=reader.total_rows(), unit="rows", desc=f"v{served.version}") as progress:
        for table in reader.chunks(rows):
            checked = check_rows(
                table.select(contract.names).to_pandas(), contract.features, text_cells=reader.csv
            )
            if checked.valid.any():
                kept = table.filter(pa.array(checked.valid))
                scored.write(with_answers(kept, call(checked.inputs), contract, served.threshold))
            if checked.reasons:
                rejects.write(
                    pa.table({"row": read + np.flatnonzero(~checked.valid) + 1, "reason": checked.reasons})
                )
            read += table.num_rows
            progress.update(table.num_rows)
    return read


def with_answers(table: pa.Table, raw: np.ndarray, contract: Contract, threshold: float | None) -> pa.Table:
    """The rows as they came, then `label` and `p_<class>` (or `value`); an answer whose name
    the file already uses (a target called `label`) is written as `predicted_<name>`."""
    out = outputs(raw, contract.task)
    if contract.task == REGRESSION:
        answers = {"value": pa.array(out)}
    else:
        labels = predict_labels(out, contract.class_labels, threshold)
        answers = {
            "label": pa.array(labels),
            **{f"p_{label}": pa.array(out[:, j]) for j, label in enumerate(contract.class_labels)},
        }
    for name, column in answers.items():
        while name in table.column_names:
            name = f"predicted_{name}"
        table = table.append_column(name, column)
    return table


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
    run_and_exit(main)
