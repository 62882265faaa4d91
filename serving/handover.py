"""A new model version for every worker at once, or for none: the hot hand-over's protocol.

BentoML runs several worker processes and a request reaches one of them, so a reload asked of
one worker must reach the others. They share a folder (`SERVING_STATE_DIR`):

    request.json        {"generation": n, "version": "3", "phase": "prepare" | "commit" | "abort"}
    worker-<pid>.json   {"generation": n, "state": "ready" | "failed" | "committed", ...}

Two phases: every worker loads and warms the new version beside the old one (prepare); only
when all are ready does the coordinator commit, and each worker swaps in one assignment. If
any worker fails, all abort and keep serving the old version. Requests never wait on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

REQUEST = "request.json"
POLL_S = 0.1


def state_dir(folder: Path) -> Path:
    """The shared folder (SERVING_STATE_DIR: `python -m serving` sets it before BentoML starts
    its workers), made if need be."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)  # readers see the old file or the new one, never half


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def read_request(folder: Path) -> dict[str, Any] | None:
    return _read(folder / REQUEST)


def report(folder: Path, generation: int, state: str, **extra: Any) -> None:
    _write(folder / f"worker-{os.getpid()}.json", {"generation": generation, "state": state, **extra})


@contextlib.contextmanager
def _one_coordinator(folder: Path):
    """Two reloads at once would interleave their phases: the second waits for the first."""
    with open(folder / ".coordinator.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


async def coordinate(folder: Path, version: str, workers: int, timeout_s: float) -> dict[str, Any]:
    """Prepare `version` in every worker, then commit it, or abort if any worker fails.

    Returns {"phase": the last phase reached, "committed": bool, "reports": [...]}; blocking
    file work runs in a thread.
    """

    def locked() -> dict[str, Any]:
        with _one_coordinator(folder):
            generation = (read_request(folder) or {}).get("generation", 0) + 1
            _write(folder / REQUEST, {"generation": generation, "version": version, "phase": "prepare"})
            prepared = _await_reports(folder, generation, workers, {"ready", "failed"}, timeout_s)
            ok = len(prepared) == workers and all(r["state"] == "ready" for r in prepared)
            _write(
                folder / REQUEST,
                {"generation": generation, "version": version, "phase": "commit" if ok else "abort"},
            )
            if not ok:
                return {"phase": "prepare", "committed": False, "reports": prepared}
            done = _await_reports(folder, generation, workers, {"committed"}, timeout_s)
            return {"phase": "commit", "committed": len(done) == workers, "reports": done}

    return await asyncio.to_thread(locked)


def _await_reports(
    folder: Path, generation: int, workers: int, states: set[str], timeout_s: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [
            r
            for r in map(_read, folder.glob("worker-*.json"))
            if r and r["generation"] == generation and r["state"] in states
        ]
        if len(found) >= workers or time.monotonic() > deadline:
            return found
        time.sleep(POLL_S)
