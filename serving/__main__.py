"""`python -m serving`: refuse at once when there is no model to serve, else `bentoml serve`.

BentoML restarts a worker whose start-up fails, forever; checking the registry first turns
"no champion yet" into one clear message and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from pipeline.io import champion
from pipeline.io.cli import run_stage

SERVICE = "serving.service:TabularModel"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    args = parser.parse_args(argv)
    found = None

    def resolve() -> None:
        nonlocal found
        found = champion.resolve(*champion.wanted())

    run_stage("serve", resolve)
    # Every worker loads this version, even if the alias moves while they start.
    os.environ["MODEL_NAME"], os.environ["MODEL_VERSION"] = found.name, str(found.version)
    # The workers' shared folder for hot hand-overs (serving/handover.py).
    os.environ["SERVING_STATE_DIR"] = tempfile.mkdtemp(prefix="serving-state-")
    print(f"[serve] {found.name} v{found.version} on http://{args.host}:{args.port}", flush=True)
    bentoml = os.path.join(os.path.dirname(sys.executable), "bentoml")
    os.execv(bentoml, [bentoml, "serve", SERVICE, "--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
