"""Stage `fetch`: write one of scikit-learn's bundled data sets as a CSV (no download)."""

from __future__ import annotations

from pipeline.io import paths
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.files import atomic_path
from pipeline.io.params import load_params


def fetch(dataset: str) -> None:
    from sklearn import datasets

    loader = getattr(datasets, f"load_{dataset}")
    frame = loader(as_frame=True).frame  # features plus a `target` column
    if dataset == "wine":  # class indices -> the cultivar names, as a user's table would have
        frame["target"] = frame["target"].map({0: "class_0", 1: "class_1", 2: "class_2"})
    with atomic_path(paths.RAW_DIR / f"{dataset}.csv") as tmp:
        frame.to_csv(tmp, index=False)
    print(f"[fetch] {dataset}: {len(frame)} rows x {frame.shape[1] - 1} features")


def main() -> None:
    run_stage("fetch", lambda: fetch(load_params().fetch.dataset))


if __name__ == "__main__":
    run_and_exit(main)
