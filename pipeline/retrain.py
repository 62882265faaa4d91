"""`python -m pipeline.retrain` (`make retrain`): the whole pipeline, unattended and safe to schedule.

One retrain at a time (a second exits at once with code 75 and names the holder); new raw
data first if asked (`--pull`: `dvc pull`; `--update X.dvc`: `dvc update`); then `dvc repro`,
which resumes a training killed half-way. It ends with one summary line and a JSON report
(`reports/retrain/report.json`). Exit 0 when the run succeeded, promoted or not, and when the
policy decided not to train; 1 when it failed; 75 when another retrain holds the lock.

`retrain.policy` decides whether to train at all (after any pull): `always`; `drift`, when the
drift check (`python -m pipeline.drift` on `monitoring.request_log`) finds the traffic drifted
from the training split; `new_data`, when the table at `data.path` is not the one the champion
learnt from (its sha256 against the champion's `data_hash` tag). Without a champion it always
trains. Not training is a success: the reason is printed and written to the report.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pipeline.io import paths
from pipeline.io.cli import run_and_exit
from pipeline.io.files import read_json, write_json
from pipeline.io.params import load_params

LOCK_FILE = Path(".retrain.lock")
REPORT = Path("reports/retrain/report.json")
DVC_RWLOCK = Path(".dvc/tmp/rwlock")
DRIFT_REPORT = Path("reports/drift/report.json")  # written by `python -m pipeline.drift`
EXIT_OK, EXIT_FAILED, EXIT_LOCKED = 0, 1, 75  # 75: EX_TEMPFAIL, "try again later"


class Locked(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


@contextlib.contextmanager
def exclusive(lock_file: Path = LOCK_FILE) -> Iterator[None]:
    """An advisory lock that the kernel drops when its holder dies, even by `kill -9`."""
    handle = open(lock_file, "a+", encoding="utf-8")  # held, and locked, for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise Locked(handle.read().strip() or "an unknown process") from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"pid {os.getpid()} on {socket.gethostname()} since "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}"
        )
        handle.flush()
        yield
    finally:
        handle.close()


def clear_dead_dvc_lock(rwlock: Path = DVC_RWLOCK) -> bool:
    """Remove DVC's rwlock when every process it names is dead (a killed `dvc repro`).

    DVC 3.67 never clears it itself ("... is busy, it is being blocked by: (PID ...)"). Safe
    under our own lock: no other retrain runs, and a live process keeps the file.
    """
    if not rwlock.is_file():
        return False
    text = rwlock.read_text()
    pids = {int(p) for p in _pids(json.loads(text or "{}"))}
    if any(_alive(pid) for pid in pids):
        return False
    rwlock.unlink()
    return True


def _pids(node) -> Iterator[int]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pid":
                yield value
            else:
                yield from _pids(value)
    elif isinstance(node, list):
        for item in node:
            yield from _pids(item)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def command(*args: str) -> subprocess.CompletedProcess:
    """A command whose output streams to the job's log and is kept for the report."""
    process = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None  # stdout=PIPE: Popen made the pipe
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    return subprocess.CompletedProcess(process.args, process.wait(), "".join(lines), "")


def first_error(log: str) -> str:
    """The stage's own one-line error (`[train] error: ...`), else DVC's last error line."""
    lines = log.splitlines()
    own = [line for line in lines if re.match(r"^\[\w+\] error: ", line)]
    dvc_errors = [line for line in lines if line.startswith("ERROR")]
    return (own or dvc_errors or ["(see the log above)"])[0 if own else -1]


def registration() -> dict | None:
    return read_json(paths.REGISTRATION) if paths.REGISTRATION.is_file() else None


def champion_missing() -> bool:
    """True when the registry has no champion for the configured model (a replaced store)."""
    from pipeline.io import champion

    try:
        champion.resolve(*champion.wanted())
    except Exception:  # no alias, no model, or an unreachable store: retrain all the same
        return True
    return False


def champion_data_hash() -> str | None:
    """The sha256 of the table the champion learnt from (its `data_hash` tag), if any."""
    from pipeline.io import champion

    try:
        found = champion.resolve(*champion.wanted())
    except Exception:  # no champion, or an unreachable store
        return None
    return (found.tags or {}).get("data_hash")


def should_train(policy: str, report: dict) -> tuple[bool, str]:
    """(train?, why), by `retrain.policy`; the drift check's findings go into `report`."""
    params = load_params()
    if policy == "new_data":
        from pipeline.io.table import file_digest

        table = Path(params.data.path)
        if not table.is_file():
            return True, f"retraining: {table} is not here yet (a stage writes it)"
        learnt = champion_data_hash()
        now = file_digest(table)
        report["data_hash"] = now
        if learnt == now:
            return False, f"not retraining because {table} has not changed since the champion learnt from it"
        return True, f"retraining because {table} changed since the champion learnt from it"
    log = Path(params.monitoring.request_log)
    if not log.exists():
        return False, (
            f"not retraining because there is no request log at {log} to check for drift "
            "(start the service with REQUEST_LOG_DIR set to it)"
        )
    done = command(sys.executable, "-m", "pipeline.drift", str(log))
    if done.returncode != 0:
        raise RuntimeError(first_error(done.stdout))
    found = read_json(DRIFT_REPORT)
    report["drift"] = {"drifted": found["drifted"], "drifted_features": found["drifted_features"]}
    if not found["drifted"]:
        worst = found["features"][0] if found["features"] else None
        detail = f" (closest: {worst['name']}, score {worst['score']:.2f} of 1)" if worst else ""
        return (
            False,
            f"not retraining because no feature drifted in {found['rows']['new']} logged rows{detail}",
        )
    return True, f"retraining because the traffic drifted: {', '.join(found['drifted_features'][:5])}"


def retrain(pull: bool, update: list[str]) -> tuple[int, dict]:
    started = time.monotonic()
    policy = load_params().retrain.policy
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "failed",
        "policy": policy,
    }
    before = registration()
    steps: list[list[str]] = []
    if pull:
        steps.append(["pull"])
    steps += [["update", target] for target in update]
    # A store replaced since the last run leaves DVC up to date and no champion: force a run.
    no_champion = champion_missing()
    steps.append(["repro", "--force"] if no_champion else ["repro"])
    if clear_dead_dvc_lock():
        print("[retrain] removed DVC's lock left by a killed run")
    for step in steps:
        if step[0] == "repro" and policy != "always":
            if no_champion:
                go, why = True, "retraining whatever the policy: there is no champion"
            else:
                try:
                    go, why = should_train(policy, report)
                except RuntimeError as exc:
                    report.update(step=f"{policy} policy check", error=str(exc))
                    return EXIT_FAILED, finish(report, started)
            report["decision"] = why
            print(f"[retrain] policy {policy}: {why}", flush=True)
            if not go:
                report.update(status="skipped", changed=False, reason=why)
                return EXIT_OK, finish(report, started)
        if step[0] == "repro" and Path(load_params().data.path).is_file():
            # Preflight: a broken table is refused before DVC deletes the outputs it would
            # replace, so the last good preparation stays in the workspace. (A table a stage
            # has yet to write, such as fetch's on a fresh clone, is checked by that run.)
            done = command(sys.executable, "-m", "pipeline.stages.prepare", "--check")
            if done.returncode != 0:
                report.update(step="preflight (prepare --check)", error=first_error(done.stdout))
                return EXIT_FAILED, finish(report, started)
        done = command("dvc", *step)
        if done.returncode != 0:
            report.update(step=" ".join(["dvc", *step]), error=first_error(done.stdout))
            return EXIT_FAILED, finish(report, started)
    after = registration()
    report["status"] = "succeeded"
    if after is None or (before is not None and after.get("run_id") == before.get("run_id")):
        report.update(changed=False, reason="nothing changed since the last run; the champion stays")
    else:
        report.update(
            changed=True,
            **{
                key: after.get(key)
                for key in (
                    "model_name",
                    "version",
                    "promoted",
                    "reason",
                    "metric",
                    "candidate",
                    "champion_version",
                    "champion_score",
                    "champion_after",
                    "run_id",
                )
            },
        )
    return EXIT_OK, finish(report, started)


def finish(report: dict, started: float) -> dict:
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["duration_s"] = round(time.monotonic() - started, 1)
    write_json(REPORT, report)
    return report


def summary(report: dict) -> str:
    took = f"in {report['duration_s']} s"
    if report["status"] == "skipped":
        return f"[retrain] ok {took}, nothing trained: {report['reason']}"
    if report["status"] != "succeeded":
        return f"[retrain] FAILED {took} at `{report['step']}`: {report['error']}"
    if not report.get("changed"):
        return f"[retrain] ok {took}: {report['reason']}"
    verdict = "promoted to champion" if report["promoted"] else "not promoted"
    before = (
        "no champion before"
        if report["champion_version"] is None
        else f"champion v{report['champion_version']} {report['metric']} {report['champion_score']:.6g}"
    )
    return (
        f"[retrain] ok {took}: {report['model_name']} v{report['version']} {verdict} "
        f"({report['metric']} {report['candidate']:.6g}; {before}): {report['reason']}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.retrain", description=__doc__.splitlines()[0])
    parser.add_argument("--pull", action="store_true", help="dvc pull new raw data first")
    parser.add_argument(
        "--update",
        action="append",
        default=[],
        metavar="X.dvc",
        help="dvc update an import first (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        with exclusive():
            code, report = retrain(args.pull, args.update)
    except Locked as exc:
        print(f"[retrain] another retrain holds {LOCK_FILE}: {exc.holder}. Not started.", file=sys.stderr)
        raise SystemExit(EXIT_LOCKED) from None
    print(summary(report), flush=True)
    raise SystemExit(code)


if __name__ == "__main__":
    run_and_exit(main)
