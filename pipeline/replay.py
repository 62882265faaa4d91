"""`python -m pipeline.replay`: what a candidate version would have answered on the logged traffic.

    python -m pipeline.replay                      # the newest registered version
    python -m pipeline.replay --version 4 --log logs/requests

Every request in the request log (`monitoring.request_log`; the service writes it with
REQUEST_LOG_DIR set) is scored again with the candidate, one request at a time as the service
would, and compared with the answer that was served: the share of labels that change, the
distribution of the differences of the probability that moved most (or of the value), and the
slowest requests. Writes `reports/replay/report.json` and tags the candidate version
(`replay.*`). The register stage does the same for each new version when a log exists.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from pipeline.core.errors import PipelineError
from pipeline.io import champion, registry
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.files import write_json
from pipeline.io.params import load_params
from pipeline.ml.replay import replay_log, tags
from pipeline.ml.scoring import model_logits

REPORT = Path("reports/replay/report.json")


def newest_version(name: str) -> str:
    found = registry.latest_version(name)
    if found is None:
        raise PipelineError(
            f"model {name!r} has no registered version. Fix: run the pipeline first (`make run`)."
        )
    return str(found.version)


def run(version: str | None, log: Path) -> dict:
    name, _ = champion.wanted()
    version = version or newest_version(name)
    with tempfile.TemporaryDirectory(prefix="replay-") as folder:
        candidate = champion.fetch(name, version, folder)
        call = model_logits(candidate.keras_file)
        summary = replay_log(log, call, candidate.contract, candidate.threshold)
    report = {"model": name, "candidate": version, "log": str(log), **summary}
    registry.tag_version(name, version, tags(summary))
    write_json(REPORT, report)
    changed = report.get("labels_changed_share")
    shown = f"{changed:.1%} of labels change, " if changed is not None else ""
    p99 = report["latency_ms"]["candidate_p99"]
    print(
        f"[replay] {name} v{version} on {report['requests']} logged requests ({report['records']} records, "
        f"served by v{', v'.join(report['served_versions'])}): {shown}mean |difference| "
        f"{report['difference']['mean_abs']}, candidate p99 {p99} ms -> {REPORT}"
    )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.replay", description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="the candidate version (default: the newest registered)")
    parser.add_argument("--log", type=Path, help="the request log (default: monitoring.request_log)")
    args = parser.parse_args(argv)
    log = args.log or Path(load_params().monitoring.request_log)
    run_stage("replay", lambda: run(args.version, log))


if __name__ == "__main__":
    run_and_exit(main)
