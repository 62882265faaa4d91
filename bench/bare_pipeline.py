"""The whole pipeline's work in one process, without DVC: the reference `dvc repro` is
measured against (bench/pipeline.py).

Fetch, prepare, train, evaluate and register, the same functions the stages call, with the
same params, one after another: what remains of `dvc repro`'s cost beyond this is the
orchestration (hashing, locks, one Python and TensorFlow start-up per stage).

    python -m bench.bare_pipeline
"""

from __future__ import annotations

from pipeline.io.params import load_params
from pipeline.stages.evaluate import evaluate
from pipeline.stages.fetch import fetch
from pipeline.stages.prepare import prepare
from pipeline.stages.register import register
from pipeline.stages.train import train


def main() -> None:
    params = load_params()
    fetch(params.fetch.dataset)
    prepare(params)
    train(params)
    evaluate(params)
    register(params)


if __name__ == "__main__":
    main()
