"""`python -m serving`: refuse at once when there is no model to serve, else `bentoml serve`.

BentoML restarts a worker whose start-up fails, forever; checking the settings and the registry
first turns a bad variable (`MAX_RECORDS=abc`) or "no champion yet" into one clear message and
exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from pipeline.io import champion
from pipeline.io.cli import run_stage
from pipeline.io.settings import settings

SERVICE = "serving.service:TabularModel"


def main(argv: list[str] | None = None) -> None:
    # Every variable checked here, before BentoML starts a worker that would fail on it forever.
    chosen = run_stage("serve", settings)
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=chosen.host)
    parser.add_argument("--port", type=int, default=chosen.port)
    args = parser.parse_args(argv)
    found = run_stage("serve", lambda: champion.resolve(*champion.wanted()))
    # Every worker loads this version, even if the alias moves while they start.
    os.environ["MODEL_NAME"], os.environ["MODEL_VERSION"] = found.name, str(found.version)
    # The workers' shared folder for hot hand-overs (serving/handover.py).
    os.environ["SERVING_STATE_DIR"] = tempfile.mkdtemp(prefix="serving-state-")
    print(f"[serve] {found.name} v{found.version} on http://{args.host}:{args.port}", flush=True)
    bentoml = os.path.join(os.path.dirname(sys.executable), "bentoml")
    os.execv(bentoml, [bentoml, "serve", SERVICE, "--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
