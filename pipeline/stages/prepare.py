"""Stage `prepare`: check the raw table, decide the task, split it stratified, record its schema."""

from __future__ import annotations

from pipeline.core.config import Params
from pipeline.core.schema import Schema
from pipeline.core.splitting import SPLITS, check_table, class_labels, feature_frame, strata, stratified_split
from pipeline.core.tasks import REGRESSION, detect_task
from pipeline.io.cli import run_stage
from pipeline.io.data import file_digest, read_table, write_schema, write_split
from pipeline.io.params import load_params


def prepare(params: Params) -> Schema:
    data = params.data
    source, target = data.path, data.target
    table = read_table(source)
    columns = check_table(table, target, source, data.non_numeric)
    choice = detect_task(table[target], data.task, data.max_classes)
    labels = [] if choice.task == REGRESSION else class_labels(table[target])
    split = stratified_split(strata(table[target], choice.task, labels), params.prepare.val_size,
                             params.prepare.holdout_size, params.base.seed, labels or None)
    frame = feature_frame(table, columns)
    frame[target] = table[target]
    for name in SPLITS:
        write_split(name, frame.iloc[getattr(split, name)])
    schema = Schema(
        features=columns.features,
        dtypes={c: str(frame[c].dtype) for c in columns.features},
        target=target,
        task=choice.task,
        class_labels=labels,
        split_sizes=split.sizes(),
        data_hash=file_digest(source),
        task_reason=choice.reason,
        one_hot=columns.one_hot,
        dropped=columns.dropped,
    )
    # The schema goes last: its presence says the splits beside it are complete.
    write_schema(schema)
    if columns.dropped:
        print(f"[prepare] dropped column(s) {columns.dropped} (data.non_numeric = {data.non_numeric})")
    classes = f", classes {labels}" if labels else ""
    print(f"[prepare] {source}: {len(table)} rows, {len(columns.features)} features, task "
          f"{choice.task} ({choice.reason}){classes}, splits {split.sizes()}")
    return schema


def main() -> None:
    run_stage("prepare", lambda: prepare(load_params()))


if __name__ == "__main__":
    main()
