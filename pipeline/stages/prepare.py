"""Stage `prepare`: check the raw table, split it stratified, record its schema."""

from __future__ import annotations

from pipeline.core.config import Params
from pipeline.core.schema import Schema
from pipeline.core.splitting import (
    SPLITS,
    check_table,
    class_labels,
    encode_labels,
    stratified_split,
)
from pipeline.core.tasks import detect_task
from pipeline.io.cli import run_stage
from pipeline.io.data import file_digest, read_table, write_schema, write_split
from pipeline.io.params import load_params


def prepare(params: Params) -> Schema:
    source, target = params.data.path, params.data.target
    table = read_table(source)
    features = check_table(table, target, source)
    labels = class_labels(table[target])
    task = detect_task(len(labels), target)
    y = encode_labels(table[target], labels)
    split = stratified_split(y, params.prepare.val_size, params.prepare.holdout_size,
                             params.base.seed, labels)
    for name in SPLITS:
        write_split(name, table.iloc[getattr(split, name)][[*features, target]])
    schema = Schema(
        features=features,
        dtypes={c: str(table[c].dtype) for c in features},
        target=target,
        task=task,
        class_labels=labels,
        split_sizes=split.sizes(),
        data_hash=file_digest(source),
    )
    # The schema goes last: its presence says the splits beside it are complete.
    write_schema(schema)
    print(f"[prepare] {source}: {len(table)} rows, {len(features)} features, task {task}, "
          f"classes {labels}, splits {split.sizes()}")
    return schema


def main() -> None:
    run_stage("prepare", lambda: prepare(load_params()))


if __name__ == "__main__":
    main()
