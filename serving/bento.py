"""`python -m serving.bento`: the champion into BentoML's model store, then `bentoml build`.

The Bento carries the model file and what the registry recorded with it (version, run,
threshold, contract), so it serves with no registry in reach: `bentoml serve <name>:latest`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from pipeline.io import champion
from pipeline.io.cli import run_stage

BENTOFILE = "bentofile.yaml"


def import_champion() -> str:
    """The champion (or MODEL_VERSION) as a BentoML model; returns its tag."""
    import bentoml

    with tempfile.TemporaryDirectory(prefix="bento-import-") as folder:
        served = champion.fetch(*champion.wanted(), folder)
        labels = {"registered_model": served.name, "registered_version": served.version}
        metadata: dict[str, str | float | None] = {"run_id": served.run_id, "task": served.contract.task}
        if served.threshold is not None:
            metadata["threshold"] = served.threshold
        with bentoml.models.create(name=served.name, labels=labels, metadata=metadata) as model:
            champion.package(served, model.path)
    print(f"[bento] {served.name} v{served.version} imported as BentoML model {model.tag}")
    return str(model.tag)


def build(tag: str) -> None:
    """`bentoml build` with the model reference in place, removed again whatever happens."""
    from serving.service import PACKAGED  # after the settings were checked, in import_champion

    PACKAGED.write_text(json.dumps({"tag": tag}))
    try:
        bentoml = os.path.join(os.path.dirname(sys.executable), "bentoml")
        subprocess.run([bentoml, "build", "-f", BENTOFILE], check=True)
    finally:
        PACKAGED.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving.bento", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    run_stage("bento", lambda: build(import_champion()))


if __name__ == "__main__":
    main()
